"""The sandbox's first minute: a demo agent and a demo supervisor, created once.

A newcomer who runs `make run` chats as a customer on the sandbox's phone page and signs in
to the console as one of these two to take the conversation. Their passwords are random
and returned only by the call that creates them (the CLI prints them once); a restart finds
them and creates nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from relaydesk.adapters.storage import accounts as accounts_store
from relaydesk.brief.schema import Brief
from relaydesk.services import accounts

DEMO_AGENT_EMAIL = "demo-agent@example.com"
DEMO_SUPERVISOR_EMAIL = "demo-supervisor@example.com"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    role: str
    #: set only when this call created the account; never stored in clear
    password: str | None


def _password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def ensure_demo_accounts(
    conn: Connection, brief: Brief, now: datetime, *, password: Callable[[], str] = _password
) -> list[DemoAccount]:
    """The two demo accounts, creating those that do not exist yet (with a fresh random
    password, returned here only). The agent has every queue's skills and every language the
    brief serves, so it can take any conversation the sandbox escalates."""
    skills = sorted({skill for queue in brief.queues.values() for skill in queue.skills})
    languages = sorted(
        {*brief.business.languages, *(lang for q in brief.queues.values() for lang in q.languages)}
    )
    made: list[DemoAccount] = []
    for email, name, role in (
        (DEMO_AGENT_EMAIL, "Demo Agent", "agent"),
        (DEMO_SUPERVISOR_EMAIL, "Demo Supervisor", "supervisor"),
    ):
        if accounts_store.user_by_email(conn, email) is not None:
            made.append(DemoAccount(email, role, None))
            continue
        secret: str | None = password()
        try:
            accounts.create_user(
                conn,
                email=email,
                name=name,
                role=role,
                password=secret,
                now=now,
                skills=skills,
                languages=languages,
            )
        except accounts.DuplicateUserError:  # another process started at the same moment
            secret = None
        made.append(DemoAccount(email, role, secret))
    return made
