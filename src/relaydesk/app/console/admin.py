"""Admins manage people: list, create and edit users (role, skills, languages, capacity,
active, password). Changing a password or deactivating someone ends their sessions."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from relaydesk.app.access import Actor
from relaydesk.app.console._web import Refusal, allow, container_of, done, in_thread, now_of, render
from relaydesk.app.http.errors import printable
from relaydesk.app.http.schemas import Id, check_text
from relaydesk.domain.permissions import Action
from relaydesk.services import accounts, sessions
from relaydesk.services.accounts import Account, AccountError

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console/admin", include_in_schema=False)
MAX_FIELD = 2000


class FormError(ValueError):
    pass


def _known_skills(request: Request) -> list[str]:
    brief = container_of(request).brief
    return sorted({skill for queue in brief.queues.values() for skill in queue.skills})


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""


def _check(form: FormData) -> None:
    """A FormError naming the first field that holds what cannot be stored (a NUL or a
    lone surrogate); the form is shown again with it."""
    for name, value in form.multi_items():
        if isinstance(value, str):
            try:
                check_text(value)
            except ValueError as exc:
                log.info("console_form_refused", field=printable(name))
                raise FormError(f"{printable(name)} {exc}") from None


def _list(form: FormData, name: str) -> list[str]:
    return [part.strip() for part in _text(form, name).split(",") if part.strip()]


def _password(form: FormData) -> str | None:
    """The new password as typed (not stripped); blank means none / unchanged."""
    value = form.get("password")
    return value[:MAX_FIELD] if isinstance(value, str) and value else None


def _capacity(form: FormData) -> int:
    raw = _text(form, "capacity")
    try:
        return int(raw)
    except ValueError:
        raise FormError(
            f"capacity {raw!r} is not a whole number; enter how many conversations this "
            f"person can handle at once (0 to {accounts.MAX_CAPACITY})"
        ) from None


def _form_page(
    request: Request,
    *,
    account: Account | None,
    values: dict[str, Any],
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "user_form.html",
        {
            "account": account,
            "values": printable(values),
            "error": error,
            "roles": accounts.ROLES,
            "known_skills": _known_skills(request),
            "min_password": accounts.MIN_PASSWORD,
        },
        status=status,
    )


def _values_of(account: Account) -> dict[str, Any]:
    return {
        "email": account.email,
        "name": account.name,
        "role": account.role,
        "skills": ", ".join(account.skills),
        "languages": ", ".join(account.languages),
        "capacity": account.capacity,
        "active": account.active,
    }


@router.get("/users", response_class=HTMLResponse)
async def users_list(
    request: Request, _session: Annotated[Actor, allow(Action.USERS_MANAGE)]
) -> HTMLResponse:
    container = container_of(request)

    def load() -> list[Account]:
        with container.db.read() as conn:
            return accounts.list_users(conn)

    return render(request, "users.html", {"accounts": await in_thread(load)})


@router.get("/users/new", response_class=HTMLResponse)
async def new_user_form(
    request: Request, _session: Annotated[Actor, allow(Action.USERS_MANAGE)]
) -> HTMLResponse:
    values = {"role": "agent", "capacity": 5, "active": True}
    return _form_page(request, account=None, values=values)


@router.post("/users", response_model=None)
async def create_user(
    request: Request, session: Annotated[Actor, allow(Action.USERS_MANAGE)]
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        name: _text(form, name) for name in ("email", "name", "role", "skills", "languages")
    }
    values["capacity"] = _text(form, "capacity")
    password = _password(form)
    container = container_of(request)
    now = now_of(request)
    try:
        _check(form)
        capacity = _capacity(form)

        def create() -> accounts.User:
            with container.db.write() as conn:
                return accounts.create_user(
                    conn,
                    email=values["email"],
                    name=values["name"],
                    role=values["role"],
                    password=password,
                    now=now,
                    skills=_list(form, "skills"),
                    languages=_list(form, "languages"),
                    capacity=capacity,
                    actor=session.user,
                )

        created = await in_thread(create)
    except (FormError, AccountError) as exc:
        status = exc.status if isinstance(exc, AccountError) else 422
        return _form_page(request, account=None, values=values, error=str(exc), status=status)
    log.info("console_user_created", admin_id=session.user.id, user_id=created.id)
    return done(f"/console/admin/users/{created.id}", "user_created")


async def _account(request: Request, user_id: Id) -> Account:
    container = container_of(request)

    def load() -> Account:
        with container.db.read() as conn:
            return accounts.get_user(conn, user_id)

    try:
        return await in_thread(load)
    except AccountError as exc:
        raise Refusal(404, "No such user", str(exc), "/console/admin/users") from None


@router.get("/users/{user_id}", response_class=HTMLResponse)
async def edit_user_form(
    request: Request, user_id: Id, _session: Annotated[Actor, allow(Action.USERS_MANAGE)]
) -> HTMLResponse:
    account = await _account(request, user_id)
    return _form_page(request, account=account, values=_values_of(account))


@router.post("/users/{user_id}", response_model=None)
async def save_user(
    request: Request, user_id: Id, session: Annotated[Actor, allow(Action.USERS_MANAGE)]
) -> Response:
    account = await _account(request, user_id)
    form = await request.form()
    values: dict[str, Any] = {
        name: _text(form, name) for name in ("name", "role", "skills", "languages")
    }
    values["email"] = account.email
    values["capacity"] = _text(form, "capacity")
    values["active"] = form.get("active") == "on"
    password = _password(form)
    container = container_of(request)
    now = now_of(request)
    try:
        _check(form)
        capacity = _capacity(form)

        def save() -> Account:
            with container.db.write() as conn:
                saved = accounts.update_user(
                    conn,
                    user_id,
                    name=values["name"],
                    role=values["role"],
                    skills=_list(form, "skills"),
                    languages=_list(form, "languages"),
                    capacity=capacity,
                    active=values["active"],
                    password=password,
                    now=now,
                    actor=session.user,
                )
                if password is not None or not saved.active:
                    sessions.end_all(conn, user_id)
                return saved

        saved = await in_thread(save)
        if not saved.active:  # their conversations go back to the queue, as in the API
            await in_thread(container.desk.release, user_id, now, session.user.id)
    except (FormError, AccountError) as exc:
        status = exc.status if isinstance(exc, AccountError) else 422
        return _form_page(request, account=account, values=values, error=str(exc), status=status)
    log.info("console_user_saved", admin_id=session.user.id, user_id=user_id)
    return done(f"/console/admin/users/{user_id}", "user_saved")
