"""The Insights' per-conversation summaries (`domain.metric_summary`), kept current: a
page reads the stored summaries of its period, summarises from their facts the
conversations whose summary is missing or stale (and stores those, in bounded batches),
and reads the messages of the few whose SLA outcome depends on `now`. The worker's
`Refresh` job summarises stale conversations ahead of the pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from relaydesk.adapters.storage import metrics as facts_store
from relaydesk.adapters.storage import summaries as store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.domain import metrics as m
from relaydesk.domain.metric_summary import ConversationSummary, Summarised, summary_of

log = structlog.get_logger(__name__)

#: Summaries stored in one write transaction.
BATCH = 500


def read(
    db: Database, brief: Brief, start: datetime, end: datetime, now: datetime
) -> list[ConversationSummary]:
    """Every conversation that started in `[start, end)`, oldest id first, as the figures
    read it at `now`: never from a stale summary."""
    basis = m.sla_basis(brief)
    with db.read() as conn:
        found = store.read(conn, start, end)
        made = [summary_of(c, brief) for c in facts_store.load_ids(conn, list(found.stale))]
        unsettled = [
            c.id
            for c in found.summarised
            if m.judged(c, brief) and m.settled(c, basis, now) is None
        ]
        messages = facts_store.messages_of(conn, unsettled)
    convs = [c.with_messages(messages[c.id]) if c.id in messages else c for c in found.summarised]
    convs = sorted([*convs, *made], key=lambda c: c.id)
    save(db, [(c.id, found.stale[c.id], c.summary) for c in made])
    return convs


def save(db: Database, summaries: Sequence[tuple[int, int, Summarised]]) -> int:
    """Store the summaries, `BATCH` to a transaction."""
    stored = 0
    for at in range(0, len(summaries), BATCH):
        with db.write() as conn:
            stored += store.write(conn, summaries[at : at + BATCH])
    return stored


class Refresh:
    """The worker's periodic job: summarise up to `limit` conversations whose summary is
    missing, stale, or judged under another SLA basis, newest first."""

    def __init__(self, db: Database, brief: Brief, limit: int = 2000) -> None:
        self._db, self._brief, self._limit = db, brief, limit

    def __call__(self, now: datetime) -> int:
        with self._db.read() as conn:
            stale = store.stale(conn, self._limit, m.sla_basis(self._brief))
            facts = facts_store.load_ids(conn, list(stale))
        made = [(c.id, stale[c.id], summary_of(c, self._brief).summary) for c in facts]
        stored = save(self._db, made)
        if stored:
            log.info("insights_summaries_refreshed", conversations=stored)
        return stored
