"""A customer's personal data: everything stored about them (export), its erasure, and the
message retention's expiry of old message text, inside the caller's transaction.

Erasure keeps the skeleton that metrics read (the customer row without identity, the
conversations' status, queue, tier, priority, times, CSAT and feedback, the messages'
direction, type, delivery status and times, the decisions' action, intent, confidence and
trigger scores) and removes or blanks everything that says who the customer is or what was
written: identities, name, attributes (the CRM mirror), identity changes, message text and
payloads, drafts, error details, wamids (they encode the phone number), delivery statuses,
outbox rows, pending decisions, decisions' detail and trigger detail, the bot's memory of
the conversation, internal notes, every raw webhook body that names the customer, and
their mentions in replay uploads and reports (`domain.erasure`)."""

from __future__ import annotations

import gzip
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, cast, delete, null, select, text, update

from relaydesk.adapters.storage import replay_jobs as replay_store
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    decisions,
    events,
    identity_changes,
    messages,
    notes,
    outbox,
    pending_decisions,
    raw_webhooks,
    send_attempts,
    status_events,
)
from relaydesk.domain import erasure

ERASED_NOTE = "[erased]"
_TRIGGER_KEPT = ("type", "score", "threshold", "queue", "priority", "min_tier", "escalates")


@dataclass(frozen=True, slots=True)
class CustomerData:
    """Every row stored about one customer, by table, as JSON-ready dicts."""

    customer_id: int
    tables: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure changed, by kind of row (counts, for the audit entry)."""

    conversations: int
    messages: int
    decisions: int
    notes: int
    raw_webhooks: int
    outbox: int
    identity_changes: int
    replay_uploads: int  #: replay jobs whose uploaded file or report named the customer

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [_plain(dict(row._mapping)) for row in conn.execute(query)]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, bytes | memoryview):
            out[key] = bytes(value).decode("utf-8", "replace")
        else:
            out[key] = value
    return out


def _identities(row: Any) -> list[bytes]:
    return [
        value.encode()
        for value in (row.wa_id, row.user_id, row.parent_user_id)
        if isinstance(value, str) and value
    ]


def _raw_bodies_naming(conn: Connection, needles: list[bytes]) -> Any:
    """The ids of raw webhook bodies that contain any of `needles` (a byte search)."""
    if not needles:
        return []
    found: set[int] = set()
    contains = (
        "position(CAST(:needle AS bytea) in body) > 0"
        if conn.dialect.name == "postgresql"
        else "instr(body, :needle) > 0"
    )
    query = text(f"SELECT id FROM raw_webhooks WHERE {contains}")  # noqa: S608 - fixed text
    for needle in needles:
        found.update(int(row.id) for row in conn.execute(query, {"needle": needle}))
    return sorted(found)


def customer_data(conn: Connection, customer_id: int) -> CustomerData | None:
    """Everything stored about the customer (None: no such customer)."""
    customer = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
    if customer is None:
        return None
    convs = select(conversations.c.id).where(conversations.c.customer_id == customer_id)
    msgs = select(messages.c.id).where(messages.c.conversation_id.in_(convs))
    wamids = select(messages.c.wamid).where(
        messages.c.conversation_id.in_(convs), messages.c.wamid.is_not(None)
    )
    raw_ids = _raw_bodies_naming(conn, _identities(customer))
    tables = {
        "customers": [_plain(dict(customer._mapping))],
        "identity_changes": _rows(
            conn,
            select(identity_changes)
            .where(identity_changes.c.customer_id == customer_id)
            .order_by(identity_changes.c.id),
        ),
        "conversations": _rows(
            conn,
            select(conversations)
            .where(conversations.c.customer_id == customer_id)
            .order_by(conversations.c.id),
        ),
        "messages": _rows(
            conn,
            select(messages).where(messages.c.conversation_id.in_(convs)).order_by(messages.c.id),
        ),
        "status_events": _rows(
            conn,
            select(status_events)
            .where(status_events.c.wamid.in_(wamids))
            .order_by(status_events.c.id),
        ),
        "decisions": _rows(
            conn,
            select(decisions)
            .where(decisions.c.conversation_id.in_(convs))
            .order_by(decisions.c.id),
        ),
        "outbox": _rows(
            conn, select(outbox).where(outbox.c.conversation_id.in_(convs)).order_by(outbox.c.id)
        ),
        "pending_decisions": _rows(
            conn, select(pending_decisions).where(pending_decisions.c.message_id.in_(msgs))
        ),
        "notes": _rows(
            conn, select(notes).where(notes.c.conversation_id.in_(convs)).order_by(notes.c.id)
        ),
        "events": _rows(
            conn, select(events).where(events.c.conversation_id.in_(convs)).order_by(events.c.id)
        ),
        "raw_webhooks": _rows(
            conn,
            select(raw_webhooks).where(raw_webhooks.c.id.in_(raw_ids)).order_by(raw_webhooks.c.id),
        )
        if raw_ids
        else [],
    }
    return CustomerData(customer_id, tables)


def erase_customer(conn: Connection, customer_id: int, now: datetime) -> Erased | None:
    """Remove or blank everything personal about the customer, keep the skeleton (see the
    module); an open conversation is closed as resolved. None: no such customer."""
    customer = conn.execute(
        select(customers).where(customers.c.id == customer_id).with_for_update()
    ).first()
    if customer is None:
        return None
    conv_ids = [
        int(row.id)
        for row in conn.execute(
            select(conversations.c.id).where(conversations.c.customer_id == customer_id)
        )
    ]
    raw_ids = _raw_bodies_naming(conn, _identities(customer))
    if raw_ids:
        conn.execute(delete(raw_webhooks).where(raw_webhooks.c.id.in_(raw_ids)))
    uploads = _blank_replay_uploads(conn, customer, conv_ids)
    changes = conn.execute(
        delete(identity_changes).where(identity_changes.c.customer_id == customer_id)
    ).rowcount
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(
            wa_id=None,
            user_id=None,
            parent_user_id=None,
            profile_name=None,
            username=None,
            attributes=null(),
            language=None,
            language_at=None,
            language_source=None,
            updated_at=now,
        )
    )
    counts = {"messages": 0, "decisions": 0, "notes": 0, "outbox": 0}
    if conv_ids:
        counts = _erase_conversations(conn, conv_ids, now)
    return Erased(
        conversations=len(conv_ids),
        raw_webhooks=len(raw_ids),
        identity_changes=changes,
        replay_uploads=uploads,
        **counts,
    )


def _blank_replay_uploads(conn: Connection, customer: Any, conv_ids: list[int]) -> int:
    """Blank the customer's identifiers, name and message text in every stored replay
    upload and report (`domain.erasure`); how many jobs changed. Runs before the messages
    are blanked, whose text it looks for."""
    names = (customer.wa_id, customer.user_id, customer.parent_user_id, customer.username)
    identifiers = [v for v in (*names, customer.profile_name) if isinstance(v, str)]
    texts = (
        [
            str(row.text)
            for row in conn.execute(
                select(messages.c.text).where(
                    messages.c.conversation_id.in_(conv_ids), messages.c.text.is_not(None)
                )
            )
        ]
        if conv_ids
        else []
    )
    found = erasure.pattern(identifiers, texts)
    if found is None:
        return 0
    changed = 0
    for files in replay_store.stored_files(conn):
        content = _blank_gz(files.content_gz, found)
        report_json = _blank_gz(files.report_json_gz, found)
        report_html = _blank_gz(files.report_html_gz, found)
        if content is None and report_json is None and report_html is None:
            continue
        blanked = replay_store.StoredFiles(
            files.id,
            content or files.content_gz,
            report_json or files.report_json_gz,
            report_html or files.report_html_gz,
        )
        replay_store.replace_files(conn, blanked)
        changed += 1
    return changed


def _blank_gz(data: bytes | None, found: Any) -> bytes | None:
    """The blanked, recompressed document; None when it held nothing to blank."""
    if data is None:
        return None
    text = gzip.decompress(data).decode("utf-8", "surrogateescape")
    blanked, count = erasure.blank(text, found)
    if not count:
        return None
    return gzip.compress(blanked.encode("utf-8", "surrogateescape"))


def _erase_conversations(conn: Connection, conv_ids: list[int], now: datetime) -> dict[str, int]:
    msgs = select(messages.c.id).where(messages.c.conversation_id.in_(conv_ids))
    wamids = select(messages.c.wamid).where(
        messages.c.conversation_id.in_(conv_ids), messages.c.wamid.is_not(None)
    )
    conn.execute(delete(status_events).where(status_events.c.wamid.in_(wamids)))
    conn.execute(delete(pending_decisions).where(pending_decisions.c.message_id.in_(msgs)))
    box = select(outbox.c.id).where(outbox.c.conversation_id.in_(conv_ids))
    conn.execute(delete(send_attempts).where(send_attempts.c.outbox_id.in_(box)))
    sent = conn.execute(delete(outbox).where(outbox.c.conversation_id.in_(conv_ids))).rowcount
    changed = conn.execute(
        update(messages)
        .where(messages.c.conversation_id.in_(conv_ids))
        .values(text=None, payload={}, wamid=None, error_detail=None, draft=None)
    ).rowcount
    decided = _blank_decisions(conn, decisions.c.conversation_id.in_(conv_ids))
    noted = conn.execute(
        update(notes).where(notes.c.conversation_id.in_(conv_ids)).values(body=ERASED_NOTE)
    ).rowcount
    conn.execute(
        update(conversations)
        .where(conversations.c.id.in_(conv_ids))
        .values(dialogue=null(), updated_at=now)
    )
    conn.execute(
        update(conversations)
        .where(conversations.c.id.in_(conv_ids), conversations.c.status != "resolved")
        .values(status="resolved", resolved_at=now, timer_at=None)
    )
    return {"messages": changed, "decisions": decided, "notes": noted, "outbox": sent}


def _blank_decisions(conn: Connection, where: Any) -> int:
    """Blank the decisions' detail and their triggers' detail (what the customer wrote may
    be quoted there); keep action, intent, confidence and the trigger scores."""
    rows = conn.execute(select(decisions.c.id, decisions.c.triggers).where(where)).all()
    for row in rows:
        triggers = [
            {**{key: t[key] for key in _TRIGGER_KEPT if key in t}, "detail": ""}
            for t in (row.triggers or [])
            if isinstance(t, dict)
        ]
        conn.execute(
            update(decisions).where(decisions.c.id == row.id).values(triggers=triggers, detail={})
        )
    return len(rows)


def expire_message_text(conn: Connection, older_than: datetime) -> tuple[int, int]:
    """Message retention: blank the text, payload, draft and error detail of messages
    created before `older_than`, the detail of their decisions, and the bot's memory of
    conversations not updated since. Returns (messages, decisions) changed; rows already
    blank are not touched again."""
    old = (messages.c.created_at < older_than) & (
        messages.c.text.is_not(None)
        | messages.c.draft.is_not(None)
        | messages.c.error_detail.is_not(None)
        | (cast(messages.c.payload, String) != "{}")
    )
    conn.execute(  # the bot's memory of a conversation quiet since then holds its words
        update(conversations)
        .where(conversations.c.updated_at < older_than, conversations.c.dialogue.is_not(None))
        .values(dialogue=null())
    )
    ids = [int(row.id) for row in conn.execute(select(messages.c.id).where(old))]
    if not ids:
        return 0, 0
    conn.execute(delete(pending_decisions).where(pending_decisions.c.message_id.in_(ids)))
    conn.execute(
        update(messages)
        .where(messages.c.id.in_(ids))
        .values(text=None, payload={}, draft=None, error_detail=None)
    )
    return len(ids), _blank_decisions(conn, decisions.c.message_id.in_(ids))
