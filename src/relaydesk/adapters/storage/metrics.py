"""The facts the scorecard reads (`domain.metric_facts`): the conversations that started in
a period, with their customers' and agents' messages (who wrote, when; the text only of
agents' replies sent from a draft), their decisions and the customer's next conversation.
Three reads, each one range scan of its table joined to the period's conversations (or to
the conversations asked for by id: `load_ids`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, bindparam, case, cast, func, or_, select
from sqlalchemy.orm import aliased

from relaydesk.adapters.storage.tables import (
    conversation_summaries,
    conversations,
    decisions,
    events,
    messages,
)
from relaydesk.domain import sources
from relaydesk.domain.metric_facts import ConversationFacts, DecisionFact, MessageFact

_B = bindparam
#: Conversations that started in `[k_start, k_end)` (the facts' and the summaries' reads).
IN_PERIOD = and_(
    conversations.c.created_at >= _B("k_start"), conversations.c.created_at < _B("k_end")
)
_BY_ID = conversations.c.id.in_(_B("k_ids", expanding=True))
#: Ids asked for in one statement (SQLite's bound-parameter limit is far above it).
ID_BATCH = 500
_later = aliased(conversations)
_NEXT = (
    select(func.min(_later.c.created_at))
    .where(
        _later.c.customer_id == conversations.c.customer_id,
        _later.c.created_at > conversations.c.created_at,
    )
    .scalar_subquery()
)
_REFERRAL = messages.c.payload["referral"].as_string()
_CONTEXT_ID = messages.c.payload["context"]["id"].as_string()
_replied = aliased(messages)
_REPLIES_TO_TEMPLATE = (
    select(_replied.c.id)
    .where(
        _replied.c.wamid == _CONTEXT_ID,
        _replied.c.direction == "out",
        _replied.c.type == "template",
    )
    .exists()
)
_INBOUND = messages.c.direction == "in"
_HINTED = or_(*(func.lower(messages.c.text).like(f"%{hint}%") for hint in sources.HINTS))


#: What the figures read of a conversation's own row (the facts and the summaries alike).
#: The customer's next conversation's start (for the reopen figures), read live.
NEXT_AT = _NEXT.label("next_at")
CONVERSATION_COLUMNS = (
    conversations.c.id,
    conversations.c.customer_id,
    conversations.c.phone_number_id,
    conversations.c.created_at,
    conversations.c.status,
    conversations.c.queue,
    conversations.c.priority,
    conversations.c.assignee_id,
    conversations.c.escalated_at,
    conversations.c.resolved_at,
    conversations.c.csat_state,
    conversations.c.csat_rating,
    conversations.c.feedback,
    # as text, like the decisions' triggers: a handful of distinct lists (`Decoded`)
    cast(conversations.c.failure_tags, Text).label("failure_tags"),
    NEXT_AT,
)


def _queries(where: Any) -> tuple[Any, Any, Any, Any]:
    """The conversations, messages, decisions and clicks of the conversations `where` keeps."""
    read_conversations = select(*CONVERSATION_COLUMNS).where(where).order_by(conversations.c.id)
    read_messages = (
        select(
            messages.c.conversation_id,
            messages.c.direction,
            messages.c.author_id,
            messages.c.sent_at,
            messages.c.draft,
            case((messages.c.draft.is_not(None), messages.c.text)).label("text"),
            case((messages.c.direction == "in", _REFERRAL.is_not(None)), else_=False).label("ad"),
            messages.c.type,
            case((and_(_INBOUND, _HINTED), messages.c.text)).label("hint"),
            case(
                (and_(_INBOUND, _CONTEXT_ID.is_not(None)), _REPLIES_TO_TEMPLATE), else_=False
            ).label("to_template"),
        )
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .where(  # the bot's own messages: no figure reads them (its decisions say what it did)
            where, or_(messages.c.direction == "in", messages.c.author_id.is_not(None))
        )
        .order_by(messages.c.conversation_id, messages.c.sent_at, messages.c.id)
    )
    read_decisions = (
        select(
            decisions.c.conversation_id,
            decisions.c.created_at,
            decisions.c.action,
            decisions.c.intent,
            # as text: a page reads tens of thousands of decisions with a handful of distinct
            # trigger lists, so each distinct text is decoded once (`Decoded`)
            cast(decisions.c.triggers, Text).label("triggers"),
            (decisions.c.detail["step"].as_string() == "book").label("booking"),
        )
        .join(conversations, conversations.c.id == decisions.c.conversation_id)
        .where(where)
        .order_by(decisions.c.conversation_id, decisions.c.created_at, decisions.c.id)
    )

    read_clicks = (  # the conversations whose customer opened the tracked booking link
        select(events.c.conversation_id)
        .distinct()
        .join(conversations, conversations.c.id == events.c.conversation_id)
        .where(where, events.c.kind == "booking_click")
    )
    return read_conversations, read_messages, read_decisions, read_clicks


_CONVERSATIONS, _MESSAGES, _DECISIONS, _CLICKED = _queries(IN_PERIOD)
_BY_ID_QUERIES = _queries(_BY_ID)


def queue_known(conn: Connection, queue: str) -> bool:
    """Whether a stored conversation is in `queue` (a queue of an older brief, say)."""
    found = select(conversations.c.id).where(conversations.c.queue == queue).limit(1)
    return conn.execute(found).first() is not None


def intent_known(conn: Connection, intent: str) -> bool:
    """Whether a stored conversation's summary or a decision has `intent` (an intent of an
    older brief, say). Only asked of a value that is not the brief's: a scan of the
    summaries, then of the decisions, when nothing has it."""
    for column, key in (
        (conversation_summaries.c.intent, conversation_summaries.c.conversation_id),
        (decisions.c.intent, decisions.c.id),
    ):
        if conn.execute(select(key).where(column == intent).limit(1)).first() is not None:
            return True
    return False


def load(conn: Connection, start: datetime, end: datetime) -> list[ConversationFacts]:
    """Every conversation that started in `[start, end)`, oldest id first."""
    return _load(
        conn,
        (_CONVERSATIONS, _MESSAGES, _DECISIONS, _CLICKED),
        {"k_start": start, "k_end": end},
    )


def load_ids(conn: Connection, ids: Sequence[int]) -> list[ConversationFacts]:
    """The conversations with these ids (those that exist), oldest id first."""
    found: list[ConversationFacts] = []
    ordered = sorted(set(ids))
    for at in range(0, len(ordered), ID_BATCH):
        found += _load(conn, _BY_ID_QUERIES, {"k_ids": ordered[at : at + ID_BATCH]})
    return found


_SENT = (  # what `load` reads of the messages, for conversations asked for by id
    select(messages.c.conversation_id, messages.c.direction, messages.c.sent_at)
    .where(
        messages.c.conversation_id.in_(_B("k_ids", expanding=True)),
        or_(messages.c.direction == "in", messages.c.author_id.is_not(None)),
    )
    .order_by(messages.c.conversation_id, messages.c.sent_at, messages.c.id)
)


def messages_of(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[MessageFact, ...]]:
    """The customer's and agents' messages of each conversation, oldest first: the
    `messages` of its facts."""
    sent: dict[int, list[MessageFact]] = {cid: [] for cid in ids}
    ordered = sorted(set(ids))
    for at in range(0, len(ordered), ID_BATCH):
        for cid, direction, when in conn.execute(_SENT, {"k_ids": ordered[at : at + ID_BATCH]}):
            sent[cid].append(MessageFact(when, "customer" if direction == "in" else "agent"))
    return {cid: tuple(found) for cid, found in sent.items()}


def _load(
    conn: Connection, queries: tuple[Any, Any, Any, Any], period: dict[str, Any]
) -> list[ConversationFacts]:
    read_conversations, read_messages, read_decisions, read_clicks = queries
    sent: dict[int, list[MessageFact]] = {}
    rewrites: dict[int, list[tuple[str, str]]] = {}
    ads: set[int] = set()
    first: dict[int, sources.FirstMessage] = {}
    # Rows unpacked as tuples (not read by column name): a week is tens of thousands.
    for cid, direction, _author, at, draft, text, ad, kind, hint, to_template in conn.execute(
        read_messages, period
    ):
        inbound = direction == "in"
        if inbound and cid not in first:
            first[cid] = sources.FirstMessage(kind, hint, bool(to_template))
        sent.setdefault(cid, []).append(MessageFact(at, "customer" if inbound else "agent"))
        if draft is not None and text is not None:
            rewrites.setdefault(cid, []).append((draft, text))
        if ad:
            ads.add(cid)
    decided: dict[int, list[DecisionFact]] = {}
    types = Decoded(_trigger_types)
    for cid, at, action, intent, triggers, booking in conn.execute(read_decisions, period):
        decided.setdefault(cid, []).append(
            DecisionFact(at, action, intent, types(triggers), bool(booking))
        )
    clicked = {int(r.conversation_id) for r in conn.execute(read_clicks, period)}
    tags = Decoded(_failure_tags)
    return [
        _facts(
            c,
            tags(c.failure_tags),
            sent.get(c.id, ()),
            decided.get(c.id, ()),
            rewrites.get(c.id, ()),
            sources.source_of(c.id in ads, first.get(c.id)),
            clicked,
        )
        for c in conn.execute(read_conversations, period)
    ]


class Decoded:
    """`read` of a JSON column's value (a list of strings) stored as JSON text, each
    distinct text decoded once; () for NULL."""

    def __init__(self, read: Callable[[Any], tuple[str, ...]]) -> None:
        self._read = read
        self._seen: dict[str, tuple[str, ...]] = {}

    def __call__(self, stored: str | None) -> tuple[str, ...]:
        if stored is None:
            return ()
        found = self._seen.get(stored)
        if found is None:
            found = self._seen[stored] = self._read(json.loads(stored))
        return found


def _failure_tags(tags: Any) -> tuple[str, ...]:
    return tuple(tags or ())


def _trigger_types(triggers: Any) -> tuple[str, ...]:
    if not isinstance(triggers, list):
        return ()
    return tuple(
        str(t["type"]) for t in triggers if isinstance(t, dict) and t.get("escalates", True)
    )


def _facts(
    row: Any,
    failure_tags: tuple[str, ...],
    sent: Sequence[MessageFact],
    decided: Sequence[DecisionFact],
    rewrites: Sequence[tuple[str, str]],
    source: str,
    clicked: set[int],
) -> ConversationFacts:
    return ConversationFacts(
        id=int(row.id),
        customer_id=int(row.customer_id),
        number=row.phone_number_id,
        source=source,
        created_at=row.created_at,
        status=row.status,
        queue=row.queue,
        priority=row.priority,
        assignee_id=row.assignee_id,
        escalated_at=row.escalated_at,
        resolved_at=row.resolved_at,
        csat_state=row.csat_state,
        csat_rating=row.csat_rating,
        feedback=row.feedback,
        failure_tags=failure_tags,
        next_conversation_at=row.next_at,  # min() keeps the column's UTC type
        messages=tuple(sent),
        decisions=tuple(decided),
        rewrites=tuple(rewrites),
        booking_clicked=row.id in clicked,
    )


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A customer message the bot could not answer, and why."""

    message_id: int
    conversation_id: int
    text: str
    reason: str  #: out_of_scope | clarified | low_confidence
    at: datetime


#: The escalation triggers that say the bot did not understand.
NOT_UNDERSTOOD = ("low_confidence", "clarification_limit", "no_answer")
_UNANSWERED = (
    select(
        messages.c.id,
        messages.c.conversation_id,
        messages.c.text,
        decisions.c.action,
        decisions.c.intent,
        decisions.c.triggers,
        decisions.c.detail,
        decisions.c.created_at,
    )
    .join(decisions, decisions.c.message_id == messages.c.id)
    .where(
        decisions.c.created_at >= _B("k_start"),
        decisions.c.created_at < _B("k_end"),
        messages.c.text.is_not(None),
        or_(
            decisions.c.action == "clarify",
            and_(decisions.c.action == "answer", decisions.c.intent.is_(None)),
            decisions.c.action == "escalate",
        ),
    )
    .order_by(decisions.c.created_at.desc(), decisions.c.id.desc())
)


def unanswered(conn: Connection, start: datetime, end: datetime, limit: int) -> list[Unanswered]:
    """The newest `limit` messages of `[start, end)` the bot could not answer: out of
    scope (answered with the fallback, no intent), clarified, or escalated because it did
    not understand (`NOT_UNDERSTOOD`); oldest first."""
    found: list[Unanswered] = []
    for row in conn.execute(_UNANSWERED, {"k_start": start, "k_end": end}):
        if row.action == "answer" and "knowledge" in (row.detail or {}):
            continue  # answered from a knowledge-base article
        if row.action == "escalate":
            if not set(_trigger_types(row.triggers)).intersection(NOT_UNDERSTOOD):
                continue
            reason = "low_confidence"
        else:
            reason = "clarified" if row.action == "clarify" else "out_of_scope"
        text = " ".join(str(row.text).split())
        if text:
            found.append(Unanswered(int(row.id), int(row.conversation_id), text, reason,
                                    row.created_at))  # fmt: skip
        if len(found) >= limit:
            break
    return found[::-1]
