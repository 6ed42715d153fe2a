"""The conversations' Insights summaries (`domain.metric_summary`), stored one row per
conversation in `conversation_summaries`. A summary is current while its `facts_rev`
equals its conversation's: database triggers bump that counter whenever anything it was
computed from changes (migration 0015), so staleness needs no bookkeeping in the code that
writes messages, decisions or events. Read with the conversation's live columns and the
customer's next conversation, which are not summarised."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from relaydesk.adapters.storage.metrics import (
    CONVERSATION_COLUMNS,
    ID_BATCH,
    IN_PERIOD,
    NEXT_AT,
    Decoded,
)
from relaydesk.adapters.storage.tables import conversation_stamps, conversations
from relaydesk.adapters.storage.tables import conversation_summaries as sums
from relaydesk.domain.metric_facts import Drafts
from relaydesk.domain.metric_summary import ConversationSummary, Summarised

_CURRENT = and_(
    sums.c.conversation_id == conversations.c.id, sums.c.facts_rev == conversations.c.facts_rev
)


def _reading(where: Any) -> Any:
    return (
        select(
            *CONVERSATION_COLUMNS,
            conversations.c.facts_rev,
            sums.c.conversation_id.label("summarised"),
            sums.c.source,
            sums.c.intent,
            sums.c.escalated,
            sums.c.bot_replied,
            sums.c.booking_offered,
            sums.c.booking_clicked,
            sums.c.first_escalation_at,
            sums.c.escalation_triggers,
            sums.c.escalation_reply_at,
            sums.c.lag_reply_at,
            sums.c.came_back,
            sums.c.contact_ended_at,
            sums.c.contact_returned_at,
            sums.c.drafts,
            sums.c.drafts_rewritten,
            sums.c.draft_kept,
            sums.c.messages,
            sums.c.sla_basis,
            sums.c.sla_met,
        )
        .select_from(conversations.outerjoin(sums, _CURRENT))
        .where(where)
        .order_by(conversations.c.id)
    )


_READ = _reading(IN_PERIOD)
_READ_IDS = _reading(conversations.c.id.in_(bindparam("k_ids", expanding=True)))
#: What a summary read earlier is checked against (`services.summaries.SummaryCache`):
#: `facts_rev`, which migration 0015's triggers bump whenever the summary's facts or the
#: conversation's escalated_at, resolved_at or priority change, then the other columns
#: the figures read live, as stored. The rest of a conversation's row never changes.
_LIVE_COLUMNS = (
    conversations.c.id,
    conversations.c.facts_rev,
    conversations.c.created_at,
    conversations.c.customer_id,
    conversations.c.status,
    conversations.c.queue,
    conversations.c.assignee_id,
    conversations.c.csat_state,
    conversations.c.csat_rating,
    conversations.c.feedback,
    cast(conversations.c.failure_tags, Text).label("failure_tags"),
    NEXT_AT,
)
_LIVE = select(*_LIVE_COLUMNS).where(IN_PERIOD).order_by(conversations.c.id)
#: SQLite: the `_LIVE` rows of the conversations stamped at or after a mark, of any
#: period (the `live_seq` index finds them; the caller keeps its period's).
_CHANGED = (
    select(*_LIVE_COLUMNS)
    .where(conversations.c.live_seq >= bindparam("k_since"))
    .limit(bindparam("k_limit"))
)
_COUNT = select(func.count()).select_from(conversations).where(IN_PERIOD)
_CENSUS = select(func.count(), func.coalesce(func.sum(conversations.c.id), 0)).where(IN_PERIOD)
#: PostgreSQL: the census and the ids stamped since, in one pass over the period's rows
#: (`live_seq` is not indexed there: migration 0016).
_PG_CHANGES = select(
    func.count(),
    func.coalesce(func.sum(conversations.c.id), 0),
    func.array_agg(conversations.c.id).filter(conversations.c.live_seq >= bindparam("k_since")),
).where(IN_PERIOD)
_LIVE_IDS = (
    select(*_LIVE_COLUMNS)
    .where(conversations.c.id.in_(bindparam("k_ids", expanding=True)))
    .order_by(conversations.c.id)
)
_SQLITE_MARK = select(conversation_stamps.c.last + 1)
_POSTGRES_MARK = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
_STALE = (
    select(conversations.c.id, conversations.c.facts_rev)
    .select_from(conversations.outerjoin(sums, _CURRENT))
    .where(sums.c.conversation_id.is_(None))
    .order_by(conversations.c.id.desc())  # the newest first: the pages read them most
    .limit(bindparam("k_limit"))
)
_OUTDATED_SLA = (  # current summaries whose stored SLA outcome was judged under another brief
    select(conversations.c.id, conversations.c.facts_rev)
    .join(sums, _CURRENT)
    .where(sums.c.sla_basis != bindparam("k_basis"))
    .order_by(conversations.c.id.desc())
    .limit(bindparam("k_limit"))
)


#: The most conversations stamped since a mark that `changes` reads row by row.
CHANGED_LIMIT = 5_000
_NO_DRAFTS = Drafts(0, 0, False)  #: shared by the many conversations without a draft


#: A row of `live`: (id, facts_rev, created_at, customer_id, status, queue, assignee_id,
#: csat_state, csat_rating, feedback, failure_tags as stored, next conversation's start).
Live = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Read:
    """The conversations of a period: those with a current summary, and the ids and
    `facts_rev` of those without one (to be summarised from their facts); with `live`,
    each one's row as `live` gives it."""

    summarised: list[ConversationSummary]
    stale: dict[int, int]
    live: list[Live] = field(default_factory=list)


def read(conn: Connection, start: datetime, end: datetime) -> Read:
    """The conversations that started in `[start, end)`, oldest id first."""
    return _built(conn.execute(_READ, {"k_start": start, "k_end": end}))


def read_ids(conn: Connection, ids: Sequence[int]) -> Read:
    """The conversations `ids` (those that exist), oldest id first."""
    found: list[ConversationSummary] = []
    stale: dict[int, int] = {}
    lives: list[Live] = []
    for at in range(0, len(ids), ID_BATCH):
        part = _built(conn.execute(_READ_IDS, {"k_ids": list(ids[at : at + ID_BATCH])}))
        found += part.summarised
        stale.update(part.stale)
        lives += part.live
    return Read(found, stale, lives)


def live(conn: Connection, start: datetime, end: datetime) -> list[Live]:
    """What a summary read earlier is checked against, for each conversation that
    started in `[start, end)`, oldest id first: about a quarter of `read`'s values."""
    return [tuple(row) for row in conn.execute(_LIVE, {"k_start": start, "k_end": end})]


def mark(conn: Connection) -> int:
    """Where this read stands in the conversations' history: any conversation changed
    after what it sees (or by a transaction it does not see) is stamped at or after the
    mark (migration 0016). Read it before what it marks."""
    query = _POSTGRES_MARK if conn.dialect.name == "postgresql" else _SQLITE_MARK
    return int(conn.execute(query).scalar_one())


@dataclass(frozen=True, slots=True)
class Changes:
    """A period since a mark: its conversations' `live` rows stamped at or after it
    (oldest id first; None when more than `CHANGED_LIMIT` were, a read not worth making
    row by row), and how many conversations it has with the sum of their ids."""

    rows: list[Live] | None
    total: int
    id_sum: int


def changes(conn: Connection, start: datetime, end: datetime, since: int) -> Changes:
    """What changed in `[start, end)` since `since`, a `mark` of an earlier read."""
    period = {"k_start": start, "k_end": end}
    if conn.dialect.name == "postgresql":
        total, id_sum, ids = conn.execute(_PG_CHANGES, period | {"k_since": since}).one()
        if ids and len(ids) > CHANGED_LIMIT:
            return Changes(None, int(total), int(id_sum))
        rows = [tuple(row) for row in conn.execute(_LIVE_IDS, {"k_ids": ids})] if ids else []
        return Changes(rows, int(total), int(id_sum))
    total, id_sum = conn.execute(_CENSUS, period).one()
    stamped = [
        tuple(row)
        for row in conn.execute(_CHANGED, {"k_since": since, "k_limit": CHANGED_LIMIT + 1})
    ]
    if len(stamped) > CHANGED_LIMIT:
        return Changes(None, int(total), int(id_sum))
    first, last = start.astimezone(UTC), end.astimezone(UTC)  # as stored: faster compared
    rows = sorted((row for row in stamped if first <= row[2] < last), key=_first)
    return Changes(rows, int(total), int(id_sum))


def _first(row: Live) -> Any:
    return row[0]


def count(conn: Connection, start: datetime, end: datetime) -> int:
    """How many conversations started in `[start, end)`."""
    return int(conn.execute(_COUNT, {"k_start": start, "k_end": end}).scalar_one())


def same_conversation(held: Live, row: Live) -> bool:
    """`row` is of the conversation `held` was read from, at the same `facts_rev`: SQLite
    gives a deleted conversation's id to the next one, so the start is compared too."""
    return bool(held[1] == row[1] and held[2] == row[2])


def with_live(summary: ConversationSummary, row: Live) -> ConversationSummary:
    """`summary` with the live columns of `row` (of the same conversation and
    `facts_rev`: `same_conversation`)."""
    (_, _, _, customer, status, queue, assignee, csat_state, csat_rating, feedback, tags,
     next_at) = row  # fmt: skip
    return replace(
        summary, customer_id=customer, status=status, queue=queue, assignee_id=assignee,
        csat_state=csat_state, csat_rating=csat_rating, feedback=feedback,
        failure_tags=_strings(json.loads(tags)) if tags is not None else (),
        next_conversation_at=next_at,
    )  # fmt: skip


def _built(rows: Iterable[Any]) -> Read:
    found: list[ConversationSummary] = []
    stale: dict[int, int] = {}
    lives: list[Live] = []
    triggers, tags = Decoded(_strings), Decoded(_strings)
    # Rows unpacked as tuples, objects built positionally: a page reads two weeks of them.
    for row in rows:
        (cid, customer, number, created, status, queue, priority, assignee, escalated_at,
         resolved_at, csat_state, csat_rating, feedback, failure_tags, next_at, rev,
         summarised, source, intent, escalated, bot_replied, offered, clicked, first_at,
         fired, reply_at, lag_at, came_back, ended, returned, drafts, rewritten, kept,
         sent, basis, met) = row  # fmt: skip
        lives.append((cid, rev, created, customer, status, queue, assignee, csat_state,
                      csat_rating, feedback, failure_tags, next_at))  # fmt: skip
        if summarised is None:
            stale[cid] = rev
            continue
        found.append(
            ConversationSummary(
                cid, customer, number, created, status, queue, priority, assignee,
                escalated_at, resolved_at, csat_state, csat_rating, feedback,
                tags(failure_tags), next_at, source, intent, escalated, bot_replied,
                offered, clicked, first_at, triggers(fired), reply_at, lag_at, came_back,
                (ended, returned),
                _NO_DRAFTS if not (drafts or rewritten or kept)
                else Drafts(drafts, rewritten, kept),
                sent, None if basis is None else (basis, met),
            )
        )  # fmt: skip
    return Read(found, stale, lives)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def stale(conn: Connection, limit: int, basis: str | None = None) -> dict[int, int]:
    """Up to `limit` conversations (newest first) whose summary is missing or out of date,
    with their `facts_rev`; with `basis`, also those whose stored SLA outcome was judged
    under another SLA basis."""
    found = {int(r.id): int(r.facts_rev) for r in conn.execute(_STALE, {"k_limit": limit})}
    if basis is not None and len(found) < limit:
        more = conn.execute(_OUTDATED_SLA, {"k_basis": basis, "k_limit": limit - len(found)})
        found.update((int(r.id), int(r.facts_rev)) for r in more)
    return found


def write(conn: Connection, summaries: Sequence[tuple[int, int, Summarised]]) -> int:
    """Store each (conversation id, the `facts_rev` its facts were read at or after, its
    summary), replacing what was stored unless that was read at a later `facts_rev`;
    conversations deleted since are skipped. Returns how many were written. A summary
    stored with a `facts_rev` that has moved on since is simply stale: it is computed
    again at the next read. An upsert, so that two transactions summarising the same
    conversation at once (two pages, a page and the worker's job) both succeed."""
    stored = 0
    for at in range(0, len(summaries), ID_BATCH):
        batch = summaries[at : at + ID_BATCH]
        ids = [cid for cid, _, _ in batch]
        existing = set(
            conn.execute(select(conversations.c.id).where(conversations.c.id.in_(ids))).scalars()
        )
        rows = [_row(cid, rev, s) for cid, rev, s in batch if cid in existing]
        if rows:
            conn.execute(_upsert(conn), rows)
        stored += len(rows)
    return stored


def _upsert(conn: Connection) -> Any:
    made = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(sums)
    return made.on_conflict_do_update(
        index_elements=[sums.c.conversation_id],
        set_={c.name: made.excluded[c.name] for c in sums.c if c.name != "conversation_id"},
        where=made.excluded.facts_rev >= sums.c.facts_rev,
    )


def _row(cid: int, rev: int, s: Summarised) -> dict[str, Any]:
    basis, met = s.sla_final if s.sla_final is not None else (None, None)
    return {
        "conversation_id": cid,
        "facts_rev": rev,
        "source": s.source,
        "intent": s.intent,
        "escalated": s.escalated,
        "bot_replied": s.bot_replied,
        "booking_offered": s.booking_offered,
        "booking_clicked": s.booking_clicked,
        "first_escalation_at": s.first_escalation_at,
        "escalation_triggers": json.dumps(list(s.escalation_triggers)),
        "escalation_reply_at": s.escalation_reply_at,
        "lag_reply_at": s.lag_reply_at,
        "came_back": s.came_back,
        "contact_ended_at": s.contact_ended_at,
        "contact_returned_at": s.contact_returned_at,
        "drafts": s.drafts.replies,
        "drafts_rewritten": s.drafts.rewritten,
        "draft_kept": s.drafts.kept,
        "messages": s.messages,
        "sla_basis": basis,
        "sla_met": met,
    }
