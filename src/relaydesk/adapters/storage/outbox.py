"""Queries of the outbox worker: claiming due rows under a lease, the attempt log
(`send_attempts`), and the outcome of each send on the outbox row and its message.
Every function takes the caller's transaction; content is stored as the codec's dict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, or_, select, update
from sqlalchemy.orm import aliased

from relaydesk.adapters.storage import integration_outbox
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    messages,
    outbox,
    send_attempts,
)
from relaydesk.domain.channel import DeliveryStatus
from relaydesk.domain.delivery import ACCEPTED, LastAttempt, callback_tag

_DETAIL_MAX = 2000


@dataclass(frozen=True, slots=True)
class DueRow:
    """An outbox row locked for this transaction, with what a send decision needs."""

    id: int
    message_id: int
    phone_number_id: str
    recipient_wa_id: str | None
    recipient_user_id: str | None
    content: dict[str, Any]
    reply_to: str | None
    attempts: int  #: made so far
    last_inbound_at: datetime | None
    customer_name: str | None
    customer_language: str | None  #: the language they write in, for the template's version
    last_attempt: LastAttempt | None = None  #: read only for rows tried before
    reconciled_wamid: str | None = None  #: a status webhook echoed this row's tag


@dataclass(frozen=True, slots=True)
class Accepted:
    """A send Meta accepted."""

    outbox_id: int
    message_id: int
    attempt: int
    wamid: str
    wa_id: str | None  #: the number as Meta normalised it, if it said
    recipient_wa_id: str | None  #: the number we sent to


def lock_due(
    conn: Connection, now: datetime, *, limit: int, paused: Sequence[str] = ()
) -> list[DueRow]:
    """Up to `limit` rows due now, oldest first, none behind an unfinished earlier row of
    its conversation (replies keep their order) nor from a `paused` number. On PostgreSQL
    they are locked (`FOR UPDATE SKIP LOCKED`), so concurrent workers take disjoint rows;
    SQLite's write transaction excludes every other writer."""
    earlier = aliased(outbox)
    due = or_(
        (outbox.c.state == "pending") & (outbox.c.next_attempt_at <= now),
        (outbox.c.state == "sending") & (outbox.c.lease_until <= now),
    )
    blocked = exists().where(
        earlier.c.conversation_id == outbox.c.conversation_id,
        earlier.c.id < outbox.c.id,
        earlier.c.state.in_(("pending", "sending")),
    )
    query = select(outbox.c.id).where(due, ~blocked)
    if paused:
        query = query.where(outbox.c.phone_number_id.not_in(list(paused)))
    query = query.order_by(outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=outbox)
    ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    rows = conn.execute(
        select(
            outbox,
            conversations.c.last_inbound_at,
            customers.c.profile_name,
            customers.c.language.label("customer_language"),
        )
        .join(conversations, conversations.c.id == outbox.c.conversation_id)
        .join(customers, customers.c.id == conversations.c.customer_id)
        .where(outbox.c.id.in_(ids))
        .order_by(outbox.c.id)
    ).all()
    return [
        DueRow(
            id=row.id,
            message_id=row.message_id,
            phone_number_id=row.phone_number_id,
            recipient_wa_id=row.recipient_wa_id,
            recipient_user_id=row.recipient_user_id,
            content=row.content,
            reply_to=row.reply_to,
            attempts=row.attempts,
            last_inbound_at=row.last_inbound_at,
            customer_name=row.profile_name,
            customer_language=row.customer_language,
            last_attempt=_last_attempt(conn, row.id) if row.attempts else None,
            reconciled_wamid=(
                repo.status_by_callback(conn, callback_tag(row.id)) if row.attempts else None
            ),
        )
        for row in rows
    ]


def _last_attempt(conn: Connection, outbox_id: int) -> LastAttempt | None:
    last = conn.execute(
        select(send_attempts.c.started_at, send_attempts.c.outcome)
        .where(send_attempts.c.outbox_id == outbox_id)
        .order_by(send_attempts.c.attempt.desc())
        .limit(1)
    ).first()
    return None if last is None else LastAttempt(last.started_at, last.outcome)


def start(conn: Connection, claims: Sequence[tuple[int, int]], lease_until: datetime) -> None:
    """Claim rows for a send, (outbox id, attempts) pairs in one statement: `attempts` now
    counts this send; each row is ours until `lease_until`."""
    if not claims:
        return
    conn.execute(
        update(outbox)
        .where(outbox.c.id == bindparam("b_outbox"))
        .values(state="sending", attempts=bindparam("b_attempts"), lease_until=lease_until),
        [{"b_outbox": outbox_id, "b_attempts": attempts} for outbox_id, attempts in claims],
    )


def hold(conn: Connection, outbox_id: int, until: datetime, *, attempts: int | None = None) -> None:
    """Back to pending until `until`; `attempts` rewinds the count (a claim that sent
    nothing)."""
    values: dict[str, Any] = {"state": "pending", "next_attempt_at": until, "lease_until": None}
    if attempts is not None:
        values["attempts"] = attempts
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


def record_attempts(conn: Connection, attempts: Sequence[tuple[int, int]], now: datetime) -> None:
    """Log (outbox id, attempt number) pairs as started, before their HTTP calls."""
    if attempts:
        conn.execute(
            send_attempts.insert(),
            [{"outbox_id": i, "attempt": n, "started_at": now} for i, n in attempts],
        )


def finish_attempt(
    conn: Connection,
    outbox_id: int,
    attempt: int,
    outcome: str,
    now: datetime,
    *,
    code: int | None = None,
    wamid: str | None = None,
) -> None:
    conn.execute(
        update(send_attempts)
        .where(send_attempts.c.outbox_id == outbox_id, send_attempts.c.attempt == attempt)
        .values(finished_at=now, outcome=outcome, error_code=code, wamid=wamid)
    )


def accept_many(conn: Connection, sent: Sequence[Accepted], now: datetime) -> None:
    """The common case, in bulk: attempt finished, row done, message carries its wamid."""
    if not sent:
        return
    conn.execute(
        update(send_attempts)
        .where(
            send_attempts.c.outbox_id == bindparam("b_outbox"),
            send_attempts.c.attempt == bindparam("b_attempt"),
        )
        .values(finished_at=now, outcome=ACCEPTED, wamid=bindparam("b_wamid")),
        [{"b_outbox": s.outbox_id, "b_attempt": s.attempt, "b_wamid": s.wamid} for s in sent],
    )
    conn.execute(
        update(outbox)
        .where(outbox.c.id == bindparam("b_outbox"))
        .values(state="done", done_at=now, lease_until=None, last_error=None),
        [{"b_outbox": s.outbox_id} for s in sent],
    )
    conn.execute(
        update(messages)
        .where(messages.c.id == bindparam("b_message"))
        .values(wamid=bindparam("b_wamid"), status=int(DeliveryStatus.ACCEPTED)),
        [{"b_message": s.message_id, "b_wamid": s.wamid} for s in sent],
    )
    for s in sent:
        if s.wa_id and s.recipient_wa_id and s.wa_id != s.recipient_wa_id:
            store_canonical_wa_id(conn, s.outbox_id, s.wa_id)
    apply_early_statuses(conn, [s.wamid for s in sent])


def accept(
    conn: Connection,
    outbox_id: int,
    message_id: int,
    wamid: str,
    now: datetime,
    *,
    wa_id: str | None = None,
) -> None:
    """One row done (a send accepted, or an earlier attempt proved by a status)."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(state="done", done_at=now, lease_until=None, last_error=None)
    )
    conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(wamid=wamid, status=int(DeliveryStatus.ACCEPTED))
    )
    if wa_id:
        store_canonical_wa_id(conn, outbox_id, wa_id)
    apply_early_statuses(conn, [wamid])


def apply_early_statuses(conn: Connection, wamids: Sequence[str]) -> None:
    """Receipts that beat the send's own answer were stored; apply them now."""
    for event in repo.statuses_for_many(conn, wamids):
        status = DeliveryStatus.from_wire(event.status)
        if status is not None:
            repo.advance_message(conn, event.wamid, status, event.error_code, event.error_detail)


def store_canonical_wa_id(conn: Connection, outbox_id: int, wa_id: str) -> None:
    """Meta may normalise the number (Brazil's ninth digit, Mexico 52/521); keep its,
    unless another customer already has that number."""
    row = conn.execute(
        select(conversations.c.customer_id, outbox.c.recipient_wa_id)
        .join(conversations, conversations.c.id == outbox.c.conversation_id)
        .where(outbox.c.id == outbox_id)
    ).one()
    if row.recipient_wa_id in (None, wa_id):
        return
    clash = conn.execute(select(customers.c.id).where(customers.c.wa_id == wa_id)).first()
    if clash is None:
        conn.execute(update(customers).where(customers.c.id == row.customer_id).values(wa_id=wa_id))


def replace_content(
    conn: Connection, outbox_id: int, content: dict[str, Any], *, resend_at: datetime | None
) -> None:
    """Store what is (or will be) sent instead, e.g. the re-engagement template;
    `resend_at` also puts the row back in line for that time."""
    values: dict[str, Any] = {"content": content}
    if resend_at is not None:
        values.update(state="pending", next_attempt_at=resend_at, lease_until=None)
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


def retry(
    conn: Connection,
    outbox_id: int,
    at: datetime,
    code: int | None,
    detail: str,
    *,
    attempts: int | None = None,
) -> None:
    """Pending again from `at`, keeping the error; `attempts` rewinds the count."""
    values: dict[str, Any] = {
        "state": "pending",
        "next_attempt_at": at,
        "lease_until": None,
        "last_error_code": code,
        "last_error": detail[:_DETAIL_MAX],
    }
    if attempts is not None:
        values["attempts"] = attempts
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


def fail(
    conn: Connection, outbox_id: int, message_id: int, code: int | None, detail: str, now: datetime
) -> None:
    """Given up: the row is failed and so is its message, with the reason."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(
            state="failed",
            done_at=now,
            lease_until=None,
            last_error_code=code,
            last_error=detail[:_DETAIL_MAX],
        )
    )
    conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(
            status=int(DeliveryStatus.FAILED), error_code=code, error_detail=detail[:_DETAIL_MAX]
        )
    )
    conversation_id = conn.execute(
        select(messages.c.conversation_id).where(messages.c.id == message_id)
    ).scalar_one_or_none()
    integration_outbox.message_failed(conn, conversation_id, message_id, code, now)
