"""The Insights' per-conversation summaries (`domain.metric_summary`), kept current: a
page reads the stored summaries of its period, summarises from their facts the
conversations whose summary is missing or stale (and stores those, in bounded batches),
and reads the messages of the few whose SLA outcome depends on `now`. The worker's
`Refresh` job summarises stale conversations ahead of the pages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import metrics as facts_store
from relaydesk.adapters.storage import summaries as store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.domain import metrics as m
from relaydesk.domain.metric_facts import MessageFact
from relaydesk.domain.metric_summary import ConversationSummary, Summarised, summary_of

log = structlog.get_logger(__name__)

#: Summaries stored in one write transaction.
BATCH = 500
#: The conversations a `SummaryCache` holds by default: four weeks of 100,000
#: conversations a quarter, some 45 MB (docs/insights.md, "Between pages").
CAPACITY = 30_000
#: The periods a `SummaryCache` remembers reading (a new one is read whole at once).
PERIODS = 16
#: How long a page waits for another's read of the cache (seconds) before it reads
#: without the cache.
WAIT_FOR_READ = 30.0


def read(
    db: Database,
    brief: Brief,
    start: datetime,
    end: datetime,
    now: datetime,
    cache: SummaryCache | None = None,
) -> list[ConversationSummary]:
    """Every conversation that started in `[start, end)`, oldest id first, as the figures
    read it at `now`: never from a stale summary. With `cache`, what it holds and is still
    current is not read in full again. The summaries worked out from facts are stored
    after the read."""
    if cache is not None and not cache.holds(db, start, end):
        cache = None  # read whole each time; nothing of it would be held
    if cache is None:
        convs, made, stale = _read(db, brief, start, end, now, None)
    else:
        with cache.turn() as mine:
            if not mine:
                log.warning("insights_cache_busy", waited=WAIT_FOR_READ)
            convs, made, stale = _read(db, brief, start, end, now, cache if mine else None)
    save(db, [(c.id, stale[c.id], c.summary) for c in made])
    return convs


def _read(
    db: Database,
    brief: Brief,
    start: datetime,
    end: datetime,
    now: datetime,
    cache: SummaryCache | None,
) -> tuple[list[ConversationSummary], list[ConversationSummary], dict[int, int]]:
    """`read`'s conversations, those of them worked out from facts (to be stored) and
    the `facts_rev` each of those was worked out at."""
    basis = m.sla_basis(brief)
    with db.read(snapshot=True) as conn:  # the summaries, facts and messages of one moment
        found = store.read(conn, start, end) if cache is None else cache.read(conn, start, end)
        made = [summary_of(c, brief) for c in facts_store.load_ids(conn, list(found.stale))]
        unsettled = [
            c.id
            for c in found.summarised
            if c.sla_messages is None and m.judged(c, brief) and m.settled(c, basis, now) is None
        ]
        messages = facts_store.messages_of(conn, unsettled)
    convs = [
        _with_messages(c, messages[c.id], brief, basis) if c.id in messages else c
        for c in found.summarised
    ]
    convs = sorted([*convs, *made], key=_by_id) if made else convs
    if cache is not None:
        if made or messages:
            kept = [_for_cache(c, brief, basis, now) for c in made]
            cache.keep([*kept, *(c for c in convs if c.id in messages)], found.live)
        cache.settle()  # every conversation of the period held now
    return convs, made, found.stale


def warm(
    db: Database,
    brief: Brief,
    cache: SummaryCache,
    periods: Sequence[tuple[datetime, datetime]],
    now: datetime,
) -> int:
    """Read `periods` (the most wanted last) into `cache` ahead of the first page that
    shows them, as `read` does (summarising and storing what is stale). `relaydesk serve`
    does it at start for the console's default Insights period and the one its scorecard
    compares with, so the first supervisor to open the page after a start does not wait
    for the whole read; a page that comes meanwhile waits for it (`SummaryCache.turn`).
    Periods that would not fit in the cache beside the later ones are left out (their
    read would be thrown away). Returns how many conversations were read."""
    with db.read() as conn:
        sizes = [store.count(conn, start, end) for start, end in periods]
    room = cache.capacity
    chosen: list[tuple[datetime, datetime]] = []
    for period, size in reversed(list(zip(periods, sizes, strict=True))):
        if size > room:
            break
        room -= size
        chosen.insert(0, period)
    return sum(len(read(db, brief, start, end, now, cache)) for start, end in chosen)


def _with_messages(
    c: ConversationSummary, messages: tuple[MessageFact, ...], brief: Brief, basis: str
) -> ConversationSummary:
    """`c` with the messages its SLA clocks need, and their `metrics.outlook`."""
    return c.with_messages(messages, m.outlook(c, messages, brief, basis))


def _for_cache(
    c: ConversationSummary, brief: Brief, basis: str, now: datetime
) -> ConversationSummary:
    """A summary worked out from its facts as it is held: with its messages and outlook
    while its SLA outcome depends on `now`, without its messages otherwise."""
    if c.sla_messages is not None and m.judged(c, brief) and m.settled(c, basis, now) is None:
        return _with_messages(c, c.sla_messages, brief, basis)
    return c.with_messages(None)


class SummaryCache:
    """The conversations' summaries a process has read, kept for the next page: every
    Insights page reads a week or two of conversations, and most of them have not
    changed since the page before.

    A period new to the cache is read whole, as without one. After that, a page of a
    period the cache read whole or checked before asks the database only for the
    conversations stamped since that read (`adapters.storage.summaries.changes`: database
    triggers stamp a conversation whenever its row, its facts or the start of the
    customer's next conversation change) and counts the period's conversations with the
    sum of their ids (a deleted one shows as one too many). It reads in full only the
    changed conversations whose `facts_rev` moved or that are not held; one whose live
    columns changed gets them from its row. When that cannot be relied on (conversations
    were dropped from the cache since, the count or the sum disagrees, or thousands
    changed), every conversation of the period is checked against its current row
    instead (`adapters.storage.summaries.live`, about a quarter of a full read's
    values). So every figure comes from the database's current rows; what is saved is
    reading and building them again. A summary is held with the messages read for its SLA
    clocks when those depend on `now` (they only change with `facts_rev`).

    At most `capacity` conversations are held (about 1.5 kB each), the longest held
    dropped first; a period with more conversations than that is read whole, as without
    a cache, and nothing of it is held. Safe to share between threads: one read at a
    time (`turn`), so what it holds only ever moves forward in the database's history."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity {capacity}; give at least 1")
        self._capacity = capacity
        self._held: OrderedDict[int, tuple[store.Live, ConversationSummary]] = OrderedDict()
        self._periods: list[tuple[datetime, datetime]] = []  #: read before, the latest last
        self._lock = threading.Lock()
        self._turn = threading.Lock()
        #: (start, end, mark): every conversation of the period at the `mark` of a read is
        #: held, current as of that read; forgotten when anything is dropped
        self._covered: list[tuple[datetime, datetime, int]] = []
        self._dropped = 0  #: how many times conversations were dropped to make room
        #: the coverage the last `read` will give once what it read is kept (`settle`)
        self._pending: tuple[datetime, datetime, int, int] | None = None

    def __len__(self) -> int:
        return len(self._held)

    @property
    def capacity(self) -> int:
        """The most conversations held at once."""
        return self._capacity

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """A read of the cache and what it then keeps, one at a time: a page that comes
        while another (or the start's warming) reads waits for it, then finds what it read
        held. False after `WAIT_FOR_READ` seconds: read without the cache."""
        mine = self._turn.acquire(timeout=WAIT_FOR_READ)
        try:
            yield mine
        finally:
            if mine:
                self._turn.release()

    def holds(self, db: Database, start: datetime, end: datetime) -> bool:
        """Whether the period's conversations fit in the cache (one count, from an index):
        a larger period is read whole without taking a turn."""
        with db.read() as conn:
            return store.count(conn, start, end) <= self._capacity

    def _known(self, start: datetime, end: datetime) -> bool:
        with self._lock:
            return any(s < end and start < e for s, e in self._periods)

    def _since(self, start: datetime, end: datetime) -> int | None:
        """The latest mark of a read that left every conversation of the period held."""
        with self._lock:
            marks = [k for s, e, k in self._covered if s <= start and end <= e]
        return max(marks, default=None)

    def _cover(self, start: datetime, end: datetime, mark: int, dropped: int) -> None:
        """Give the period this coverage once what the read found is kept (`settle`)."""
        self._pending = (start, end, mark, dropped)

    def settle(self) -> None:
        """The last `read`'s conversations are all held now (those worked out from facts
        included, by `keep`): later reads of the period may read only what changed."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        start, end, mark, dropped = pending
        with self._lock:
            if self._dropped == dropped:  # nothing dropped during the read
                others = [c for c in self._covered if (c[0], c[1]) != (start, end)]
                self._covered = [*others[-(PERIODS - 1) :], (start, end, mark)]

    def read(self, conn: Connection, start: datetime, end: datetime) -> store.Read:
        """The conversations that started in `[start, end)`, oldest id first, with their
        `live` rows: from what is held where it is current, the rest read (by id, or the
        whole period when it is new to the cache or most of it is wanted). Call it in
        `turn`, with `keep` after it."""
        self._pending = None
        dropped, mark = self._dropped, store.mark(conn)  # the mark before what it marks
        since = self._since(start, end)
        if since is not None:
            changes = self._changes(conn, start, end, since)
            if changes is not None:
                self._cover(start, end, mark, dropped)
                return changes
        if not self._known(start, end):  # nothing to check against: read it all
            whole = store.read(conn, start, end)
            if len(whole.live) <= self._capacity:  # else the cache cannot help it
                with self._lock:
                    self._periods = [*self._periods[-(PERIODS - 1) :], (start, end)]
                self._forget_gone(start, end, {row[0] for row in whole.live})
                self._held_from(whole)
                self._cover(start, end, mark, dropped)
            return whole
        rows = store.live(conn, start, end)
        if len(rows) > self._capacity:  # grown past what the cache can hold
            return store.read(conn, start, end)
        found: list[ConversationSummary] = []
        wanted: dict[int, store.Live] = {}
        self._forget_gone(start, end, {row[0] for row in rows})
        with self._lock:
            held = self._held
            for row in rows:
                entry = held.get(row[0])
                if entry is None or not store.same_conversation(entry[0], row):
                    wanted[row[0]] = row  # not held, or its facts_rev moved
                elif entry[0] == row:
                    found.append(entry[1])
                else:  # only live columns changed
                    summary = store.with_live(entry[1], row)
                    held[row[0]] = (row, summary)
                    found.append(summary)
        if not wanted:
            self._cover(start, end, mark, dropped)
            return store.Read(found, {}, rows)
        if len(wanted) > len(rows) // 2:  # cheaper read in one range than by ids
            every = store.read(conn, start, end)
            fresh = store.Read(
                [c for c in every.summarised if c.id in wanted],
                {cid: rev for cid, rev in every.stale.items() if cid in wanted},
                [row for row in every.live if row[0] in wanted],
            )
        else:
            fresh = store.read_ids(conn, list(wanted))
        self._held_from(fresh)
        self._cover(start, end, mark, dropped)
        return store.Read(sorted([*found, *fresh.summarised], key=_by_id), fresh.stale, rows)

    def _forget_gone(self, start: datetime, end: datetime, present: set[int]) -> None:
        """Drop what is held of the period but no longer in the database."""
        with self._lock:
            gone = [cid for cid, _ in self._held_in(start, end) if cid not in present]
            for cid in gone:
                del self._held[cid]

    def _held_in(
        self, start: datetime, end: datetime
    ) -> list[tuple[int, tuple[store.Live, ConversationSummary]]]:
        """What is held of the conversations that started in `[start, end)`; under the
        lock. In UTC like the starts held: comparing across time zones costs 10x as much."""
        first, last = start.astimezone(UTC), end.astimezone(UTC)
        return [(cid, e) for cid, e in self._held.items() if first <= e[1].created_at < last]

    def _changes(
        self, conn: Connection, start: datetime, end: datetime, since: int
    ) -> store.Read | None:
        """`read` from what is held and what was stamped `since`; None when that cannot be
        relied on (too many stamped, or the period's count or sum of ids disagrees)."""
        since_then = store.changes(conn, start, end, since)
        rows, total, ids = since_then.rows, since_then.total, since_then.id_sum
        if rows is None:
            return None
        wanted: dict[int, store.Live] = {}
        with self._lock:
            held = self._held
            for row in rows:
                entry = held.get(row[0])
                if entry is None or not store.same_conversation(entry[0], row):
                    wanted[row[0]] = row  # new, or its facts_rev moved
                elif entry[0] != row:  # only live columns changed
                    held[row[0]] = (row, store.with_live(entry[1], row))
            kept = [entry for cid, entry in self._held_in(start, end) if cid not in wanted]
        # a held one deleted (or one missing): the count, or the ids' sum, disagrees
        held_ids = sum(summary.id for _, summary in kept) + sum(wanted)
        if len(kept) + len(wanted) != total or held_ids != ids:
            return None
        fresh = store.read_ids(conn, list(wanted)) if wanted else store.Read([], {}, [])
        if len(fresh.live) != len(wanted):
            return None
        self._held_from(fresh)
        found = sorted([*(summary for _, summary in kept), *fresh.summarised], key=_by_id)
        return store.Read(found, fresh.stale, [*(row for row, _ in kept), *fresh.live])

    def _held_from(self, read: store.Read) -> store.Read:
        """Hold what `read` read in full (with its `live` rows)."""
        by_id = {row[0]: row for row in read.live}
        with self._lock:
            for summary in read.summarised:
                self._hold(by_id[summary.id], summary)
            self._trim()
        return read

    def keep(self, summaries: Sequence[ConversationSummary], rows: Sequence[store.Live]) -> None:
        """Hold `summaries`, worked out from their facts or given the messages their SLA
        clocks need (which only change with `facts_rev`), with their rows of `rows` (the
        period's: nothing is held of a period larger than the cache)."""
        if len(rows) > self._capacity:
            return
        by_id = {row[0]: row for row in rows}
        with self._lock:
            for summary in summaries:
                row = by_id.get(summary.id)
                if row is not None:
                    self._hold(row, summary)
            self._trim()

    def _hold(self, row: store.Live, summary: ConversationSummary) -> None:
        self._held[summary.id] = (row, summary)
        self._held.move_to_end(summary.id)  # dropped last

    def _trim(self) -> None:
        if len(self._held) <= self._capacity:
            return
        while len(self._held) > self._capacity:
            self._held.popitem(last=False)
        self._dropped += 1
        self._covered = []


def _by_id(c: ConversationSummary) -> int:
    return c.id


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
