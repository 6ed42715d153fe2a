"""What every console route shares: templates, `allow` (the signed-in person, their role's
permission and the CSRF check) and the pages that refuse (sign in again, 403, 404, 409,
422)."""

# No `from __future__ import annotations` here: FastAPI must resolve the dependency
# annotations of the closures below at definition time.
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

import anyio.to_thread
import structlog
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from relaydesk.app import access
from relaydesk.app.access import Actor
from relaydesk.app.http.deps import ClockDep, ContainerDep
from relaydesk.app.http.headers import secure_page
from relaydesk.bootstrap import Container
from relaydesk.domain.permissions import Action, roles_for
from relaydesk.services.agents import ActionError
from relaydesk.services.events import EventKind
from relaydesk.services.sessions import ConsoleSession

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
COOKIE = access.SESSION_COOKIE
LOGIN_CSRF_COOKIE = "relaydesk_login_csrf"
CSRF_FIELD = access.CSRF_FIELD
PARTIAL_HEADER = "x-partial"
EVENTS_PATH = "/console/events"

templates = Jinja2Templates(directory=HERE / "templates")


def duration(seconds: float | None) -> str:
    """A wait or a time left, as people say it: "45s", "12m", "3h 05m", "2d 4h"."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    left = int(abs(seconds))
    if left < 60:
        return f"{sign}{left}s"
    if left < 3600:
        return f"{sign}{left // 60}m"
    if left < 86400:
        return f"{sign}{left // 3600}h {left % 3600 // 60:02d}m"
    return f"{sign}{left // 86400}d {left % 86400 // 3600}h"


def clock_time(value: datetime | None) -> str:
    return value.strftime("%d %b %H:%M UTC") if value else "—"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


templates.env.filters.update(duration=duration, clock_time=clock_time, percent=percent)
EVENT_KINDS = ",".join(kind.value for kind in EventKind)
T = TypeVar("T")


class LoginRequired(Exception):
    """No usable session: the person is sent to the sign-in page with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refusal(Exception):
    """A console request that cannot be done: shown as a page with the status."""

    def __init__(self, status: int, title: str, message: str, back: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.back = back


REFUSAL_TITLES = {
    403: "Not allowed",
    404: "Not found",
    409: "That cannot be done now",
    413: "Too large",
    422: "Check what you entered",
}


def refusal_from(exc: ActionError, back: str) -> Refusal:
    return Refusal(exc.status, REFUSAL_TITLES.get(exc.status, "Refused"), str(exc), back)


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(func, *args)


# -- who is asking ----------------------------------------------------------------------------


async def _form_closed(request: Request) -> AsyncIterator[None]:
    """Closes the request's form once the response is sent: an uploaded file's temporary
    file is not left to the garbage collector."""
    try:
        yield
    finally:
        await request.close()


def allow(action: Action) -> Any:
    """The dependency of a console route: the signed-in person (`app.access.Actor`), if
    their role may do `action` (`domain.permissions`); the sign-in page without a session,
    a 403 page for a role that may not, or a state-changing request without the session's
    CSRF token. Use as `session: Annotated[Actor, allow(Action.X)]`."""

    async def check(
        request: Request,
        container: ContainerDep,
        clock: ClockDep,
        _closing: Annotated[None, Depends(_form_closed)],
    ) -> Actor:
        try:
            actor = await access.resolve_actor(request, container, clock())
        except access.NotSignedIn as exc:
            raise LoginRequired(
                "ended" if exc.reason not in LOGIN_MESSAGES else exc.reason
            ) from None
        request.state.actor = actor
        request.state.console_session = actor.session
        try:
            access.permit(actor, action)
        except access.NotAllowed:
            raise Refusal(
                403,
                "Not for your role",
                f"This page is for {_people(roles_for(action))}. You are signed in as "
                f"{_article(actor.role)} {actor.role}; ask an admin if you need access.",
                "/console",
            ) from None
        if not await access.csrf_ok(request, actor):
            raise Refusal(
                403,
                "Form expired or forged",
                "This form's security token is missing or wrong, so nothing was changed. "
                "Reload the page and try again.",
                _same_site_back(request),
            )
        return actor

    check.action = action  # type: ignore[attr-defined]  # read by the permission test
    return Depends(check)


def _people(roles: tuple[str, ...]) -> str:
    names = [f"{r}s" for r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _same_site_back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    return safe_next(urlsplit(referer).path) if referer else "/console"


def safe_next(path: str | None) -> str:
    """A console path to return to, never another site (no open redirect)."""
    if path and path.startswith("/console") and not path.startswith("//"):
        return path
    return "/console"


# -- rendering ------------------------------------------------------------------------------


def is_partial(request: Request) -> bool:
    return request.headers.get(PARTIAL_HEADER) == "1"


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page, or only its live regions when the page script asks (`X-Partial: 1`)."""
    session: ConsoleSession | None = getattr(request.state, "console_session", None)
    actor: Actor | None = getattr(request.state, "actor", None)
    values: dict[str, Any] = {
        "session": session,
        "user": actor.user if actor else None,
        "csrf_token": session.csrf_token if session else "",
        "presence": session.presence if session else None,
        "event_kinds": EVENT_KINDS,
        "partial": is_partial(request),
        "path": request.url.path,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status)
    response.headers.update(PAGE_HEADERS)
    return secure_page(response)


#: Every console page: never cached, and (`secure_page`) never framed (clickjacking),
#: scripts and styles only from the console's own static files.
PAGE_HEADERS = {"Cache-Control": "no-store", "Vary": "X-Partial, Cookie"}


#: What a redirect after a POST tells the person (`?done=<key>`): fixed text only, so a
#: link cannot put words on the page.
NOTICES = {
    "taken": "The conversation is yours.",
    "replied": "Reply queued for sending.",
    "noted": "Note added.",
    "transferred": "Conversation transferred.",
    "escalated": "Conversation moved to the next tier.",
    "resolved": "Conversation resolved; the customer gets the satisfaction question.",
    "handed_back": "The bot has the conversation again.",
    "feedback": "Thanks, feedback recorded.",
    "tagged": "Failure tags saved.",
    "presence": "Presence updated.",
    "user_created": "User created.",
    "user_saved": "User saved.",
    "empty_queue": "Nobody is waiting in that queue that you can take.",
    "replay_queued": "History uploaded; the worker replays it next. This list follows it.",
    "rollout_changed": "Rollout changed; the change log below records it.",
    "draft_sent": "Draft sent; the customer receives it once.",
    "draft_rejected": "Draft rejected; the conversation waits in the queue for a person.",
}


def done(path: str, key: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={key}", status_code=303)


LOGIN_MESSAGES = {
    "expired": "Your session expired. Sign in again.",
    "ended": "Your session has ended. Sign in again.",
    "required": "Sign in to use the console.",
    "signed_out": "You signed out.",
}


def login_required_response(request: Request, exc: LoginRequired) -> Response:
    target = "/console/login?reason=" + exc.reason
    stream = request.url.path == EVENTS_PATH
    if request.method == "GET" and not stream and request.url.path not in ("/console", "/console/"):
        target += "&next=" + quote(request.url.path, safe="/")
    if is_partial(request) or stream:
        # The page script follows this itself (a fetch must not silently get a login form).
        return Response(status_code=401, headers={"X-Console-Login": target})
    response = RedirectResponse(target, status_code=303)
    if exc.reason in ("expired", "ended"):
        response.delete_cookie(COOKIE, path="/console")
    return response


def refusal_response(request: Request, exc: Refusal) -> HTMLResponse:
    return render(
        request,
        "refused.html",
        {"title": exc.title, "message": exc.message, "back": exc.back, "status": exc.status},
        status=exc.status,
    )


def console_error_page(request: Request, status: int, detail: str) -> Response | None:
    """The refusal page for a console address that does not validate (an id that names
    nothing, a bad query value); None outside the console."""
    if not request.url.path.startswith("/console"):
        return None
    title = REFUSAL_TITLES.get(status, "Refused")
    return refusal_response(request, Refusal(status, title, detail, "/console"))


def now_of(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()
