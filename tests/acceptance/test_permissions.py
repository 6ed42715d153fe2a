"""Every route of the API and the console, asked by nobody, an agent, a supervisor and an
admin: the answer follows the one permission table (`domain.permissions.PERMISSIONS`).

The action of a route is read from its `allow(Action.X)` dependency and the expected
answer from the table, so a route and the table cannot drift apart; a route that is
neither public nor guarded by `allow` fails the walk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from relaydesk.domain.permissions import Action, can
from relaydesk.services import accounts
from tests.acceptance.test_console import Console, console, csrf_of, sign_in, signed_in
from tests.conftest import SECRET_KEY

__all__ = ["console"]

#: Routes anyone may call: the webhook (signed by Meta), operations, the sign-in page,
#: the API's own documentation, and the sandbox (only without credentials).
PUBLIC = (
    "/webhooks/whatsapp",
    "/healthz",
    "/readyz",
    "/metrics",
    "/console/login",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/sandbox",
    "/r/",  # a tracked booking link: a signed token, opened by customers
)
#: Actions decided inside services (who sees and works which conversation, whose tokens,
#: who gets supervisor alerts), not by a route of their own.
DECIDED_IN_SERVICES = {
    Action.CONVERSATIONS_READ_ANY,
    Action.CONVERSATIONS_WORK_ANY,
    Action.TOKENS_MANAGE_ANY,
    Action.ALERTS_RECEIVE,
}
#: Actions in the table whose routes are not built yet.
NOT_ROUTED_YET: set[Action] = set()
#: A value for each path parameter: ids that name nothing (a 404 past the permission
#: check), and a valid name where the path takes a word.
PATH_VALUES = {
    "conversation_id": "999999",
    "draft_id": "999999",
    "replay_id": "999999",
    "user_id": "999999",
    "token_id": "999999",
    "customer_id": "999999",
    "row_id": "999999",
    "table": "scorecard",
    "action": "promote",
}
ROLES = ("agent", "supervisor", "admin")


@dataclass(frozen=True)
class Guarded:
    method: str
    path: str
    action: Action

    @property
    def console(self) -> bool:
        return self.path.startswith("/console")

    def url(self) -> str:
        url = self.path
        for name, value in PATH_VALUES.items():
            url = url.replace("{" + name + "}", value)
        assert "{" not in url, f"{self.path}: add its path parameter to PATH_VALUES"
        return url


def _action_of(dependant: Dependant) -> Action | None:
    for dependency in dependant.dependencies:
        action = getattr(dependency.call, "action", None)
        if isinstance(action, Action):
            return action
        found = _action_of(dependency)
        if found is not None:
            return found
    return None


def guarded_routes(app: FastAPI) -> Iterator[Guarded]:
    unguarded = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if not isinstance(dependant, Dependant) or route.path is None:
            continue  # mounted files (the console's static files, the docs' scripts)
        action = _action_of(dependant)
        if action is None:
            if not route.path.startswith(PUBLIC):
                unguarded.append(route.path)
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield Guarded(method, route.path, action)
    assert not unguarded, (
        f"routes without `allow(Action.X)`: {unguarded}; guard each with the action it does"
    )


async def answer(app: FastAPI, route: Guarded, headers: dict[str, str]) -> tuple[int, str]:
    """The status and Location of the route's answer, straight from the ASGI app (so that
    an event stream, which never ends, is read up to its first line only)."""
    body = b"{}" if not route.console else b""
    content_type = "application/json" if not route.console else "application/x-www-form-urlencoded"
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": route.method,
        "scheme": "http",
        "path": route.url(),
        "raw_path": route.url().encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    started: dict[str, Any] = {}
    sent_body = False
    got_start = anyio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
            got_start.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:

            async def run() -> None:
                await app(scope, receive, send)

            tasks.start_soon(run)
            await got_start.wait()
            tasks.cancel_scope.cancel()
    # where the console sends the person (the event stream says it in X-Console-Login)
    sent = dict(started["headers"])
    location = (sent.get(b"location") or sent.get(b"x-console-login") or b"").decode()
    return int(started["status"]), location


@dataclass
class Person:
    token: str
    cookie: str
    csrf: str


async def person(console: Console, role: str) -> Person:
    email = f"{role}-walk@example.com"
    client = await signed_in(console, email, role)
    page = await client.get("/console")
    assert page.status_code == 200, page.text
    with console.harness.container.db.write() as conn:
        token = accounts.create_token(
            conn, email=email, label="walk", now=console.clock(), key=SECRET_KEY
        )
    return Person(token, client.cookies["relaydesk_session"], csrf_of(page))


async def fresh_session(console: Console, role: str) -> Person:
    """Another sign-in of the role's person (for the sign-out, which ends it)."""
    client = console.browser()
    assert (await sign_in(client, f"{role}-walk@example.com")).status_code == 303
    page = await client.get("/console")
    return Person("", client.cookies["relaydesk_session"], csrf_of(page))


def headers_of(route: Guarded, who: Person) -> dict[str, str]:
    if not route.console:
        return {"Authorization": f"Bearer {who.token}"}
    return {"Cookie": f"relaydesk_session={who.cookie}", "X-CSRF-Token": who.csrf}


async def test_every_route_answers_each_role_as_the_table_says(console: Console) -> None:
    app: FastAPI = console.transport.app  # type: ignore[attr-defined]
    routes = list(guarded_routes(app))
    assert len(routes) > 60, len(routes)
    routed = {route.action for route in routes}
    assert routed | DECIDED_IN_SERVICES | NOT_ROUTED_YET == set(Action), (
        set(Action) - routed - DECIDED_IN_SERVICES - NOT_ROUTED_YET
    )
    assert not routed & NOT_ROUTED_YET, "a route exists now: take it out of NOT_ROUTED_YET"
    people = {role: await person(console, role) for role in ROLES}
    wrong: list[str] = []
    for route in routes:
        status, location = await answer(app, route, {})
        expected = (303, 401) if route.console else (401,)
        if status not in expected or (route.console and "/console/login" not in location):
            wrong.append(f"anonymous {route.method} {route.path}: {status} {location}")
        for role in ROLES:
            who = people[role]
            if route.action is Action.SESSION_END:
                who = await fresh_session(console, role)
            status, location = await answer(app, route, headers_of(route, who))
            refused = status in (401, 403) or (
                "reason=" in location and "signed_out" not in location
            )
            if can(role, route.action) == refused:
                wrong.append(
                    f"{role} {route.method} {route.path} ({route.action}): {status} {location}"
                )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
async def test_a_console_form_without_the_csrf_token_is_refused(
    console: Console, role: str
) -> None:
    who = await person(console, role)
    app: FastAPI = console.transport.app  # type: ignore[attr-defined]
    route = Guarded("POST", "/console/presence", Action.PRESENCE_SET)
    status, _ = await answer(app, route, {"Cookie": f"relaydesk_session={who.cookie}"})
    assert status == 403
    forged = {"Cookie": f"relaydesk_session={who.cookie}", "X-CSRF-Token": "x" + who.csrf}
    status, _ = await answer(app, route, forged)
    assert status == 403
