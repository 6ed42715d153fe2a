"""Who is asking and whether they may: the one actor model of the API and the console.

A request acts as a person through an API bearer token (`Authorization: Bearer ...`) or a
console session (the `relaydesk_session` cookie); the bearer token wins when both are
sent. `resolve_actor` finds the person, `permit` checks the action against the table in
`domain.permissions`, and `csrf_ok` is the one CSRF rule: a state-changing request made
with a session (a browser) carries the session's CSRF token, in the `csrf_token` form
field or the `X-CSRF-Token` header. Bearer tokens need none: browsers do not send them by
themselves. The API (`app.http.deps.allow`) and the console (`app.console._web.allow`)
turn the refusals into their own answers (JSON problems, pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import anyio.to_thread
import structlog
from fastapi import Request

from relaydesk.bootstrap import Container
from relaydesk.domain.permissions import Action, can, roles_for
from relaydesk.services import accounts, sessions
from relaydesk.services.accounts import User
from relaydesk.services.sessions import ConsoleSession

log = structlog.get_logger(__name__)

SESSION_COOKIE = "relaydesk_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Via = Literal["token", "session"]
#: Why nobody is signed in: nothing sent, a session that timed out, one that was ended (or
#: never was), a bearer token that is not live, an Authorization header of another scheme.
Missing = Literal["required", "expired", "ended", "invalid_token", "bad_scheme"]


@dataclass(frozen=True, slots=True)
class Actor:
    """The person a request acts as, and how they proved it."""

    user: User
    via: Via
    session: ConsoleSession | None = None  #: with `via == "session"`

    @property
    def role(self) -> str:
        return str(self.user.role)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request offers to prove who it is (at most one of the two is used)."""

    bearer: str | None
    session_token: str | None

    @property
    def via(self) -> Via | None:
        if self.bearer is not None:
            return "token"
        return "session" if self.session_token else None


class NotSignedIn(Exception):
    """No usable token or session."""

    def __init__(self, reason: Missing, via: Via | None) -> None:
        super().__init__(reason)
        self.reason: Missing = reason
        self.via = via


class NotAllowed(Exception):
    """The actor's role may not do the action."""

    def __init__(self, actor: Actor, action: Action) -> None:
        needs = ", ".join(roles_for(action))
        super().__init__(
            f"role {actor.role!r} may not do this ({action.value}); it needs one of: {needs} "
            "(ask an admin to change your role)"
        )
        self.actor = actor
        self.action = action


def secret_key(container: Container) -> str:
    """`RELAYDESK_SECRET_KEY`: the key of the stored hashes of API tokens and sessions."""
    return container.settings.secret_key.get_secret_value()


def credentials(request: Request) -> Credentials:
    """The bearer token (an empty string for an Authorization header of another scheme or
    without a token) and the session cookie of a request."""
    header = request.headers.get("authorization")
    bearer: str | None = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
    return Credentials(bearer, request.cookies.get(SESSION_COOKIE) or None)


async def resolve_actor(request: Request, container: Container, now: datetime) -> Actor:
    """The person behind the request's bearer token or console session, recording the
    token's use and keeping the session alive; NotSignedIn otherwise."""
    found = credentials(request)
    key = secret_key(container)
    if found.bearer is not None:
        token = found.bearer
        if not token:
            raise NotSignedIn("bad_scheme", "token")

        def by_token() -> User | None:
            with container.db.write() as conn:
                return accounts.authenticate_token(conn, token, now, key=key)

        user = await anyio.to_thread.run_sync(by_token)
        if user is None:
            raise NotSignedIn("invalid_token", "token")
        return Actor(user, "token")
    if not found.session_token:
        raise NotSignedIn("required", None)
    cookie = found.session_token

    def by_session() -> ConsoleSession | sessions.Expired | None:
        # An expired session row is left for the purge at the next sign-in, so that every
        # request of the page (live regions, the event stream) is told "expired" alike.
        with container.db.read() as conn:
            session = sessions.lookup(conn, cookie, now, key=key)
        if isinstance(session, ConsoleSession) and session.due_for_keep_alive(now):
            with container.db.write() as conn:
                sessions.keep_alive(conn, session, now)
        return session

    session = await anyio.to_thread.run_sync(by_session)
    if session == sessions.EXPIRED:
        raise NotSignedIn("expired", "session")
    if not isinstance(session, ConsoleSession):
        raise NotSignedIn("ended", "session")
    return Actor(session.user, "session", session)


def still_signed_in(container: Container, found: Credentials, now: datetime) -> User | None:
    """Whether the same credentials still act as someone (reading only; the event streams
    ask before every event): the user, or None once the token or session has ended."""
    key = secret_key(container)
    with container.db.read() as conn:
        if found.bearer is not None:
            return accounts.token_user(conn, found.bearer, now, key=key) if found.bearer else None
        if not found.session_token:
            return None
        session = sessions.lookup(conn, found.session_token, now, key=key)
        return session.user if isinstance(session, ConsoleSession) else None


def permit(actor: Actor, action: Action) -> None:
    """NotAllowed unless the actor's role may do the action (`domain.permissions`)."""
    if not can(actor.role, action):
        log.info(
            "access_refused",
            user_id=actor.user.id,
            role=actor.role,
            action=action.value,
            via=actor.via,
        )
        raise NotAllowed(actor, action)


def needs_csrf(request: Request, actor: Actor) -> bool:
    """Whether the request must carry a CSRF token: it changes something and comes with a
    session cookie (what a forged cross-site form would carry)."""
    return actor.via == "session" and request.method not in SAFE_METHODS


async def supplied_csrf(request: Request) -> str | None:
    """The CSRF token a request carries: the `X-CSRF-Token` header, else the form field."""
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:  # a body of another type has no form fields
        value = (await request.form()).get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    return supplied


async def csrf_ok(request: Request, actor: Actor) -> bool:
    """The one CSRF rule (module doc): True when none is needed or the right one came."""
    if not needs_csrf(request, actor) or actor.session is None:
        return True
    supplied = await supplied_csrf(request)
    if sessions.csrf_ok(actor.session, supplied):
        return True
    log.info(
        "csrf_refused",
        user_id=actor.user.id,
        path=request.url.path,
        missing=not supplied,
    )
    return False
