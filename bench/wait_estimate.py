"""What a handoff's wait estimate costs as the queue grows: the old live queue (every
waiting conversation read and ordered at each handoff) against `LiveQueue` (a tally of
per-priority counts from an index, reused for `QUEUE_TTL`, updated by each join).

    python -m bench.wait_estimate [--waiting 10,1000,10000] [--handoffs 200] [--rate 10]

For each queue length, a fresh SQLite file holds that many conversations waiting in the
`general` queue (queued over the last six hours, all priorities, a few windows closing
soon) and 12 online agents. Then `--handoffs` escalations join it, each inserted as
`finish_inbound` would, inside one write transaction, `now` moving on at `--rate` handoffs
a second; only the snapshot call is timed. Three ways, in the same run:

- old: the code before (`queued_in` + `position_in_queue` over every row);
- new, cold: `LiveQueue(queue_ttl=0)`, so every handoff reads the tally again (the worst
  case: escalations further apart than the TTL);
- new: `LiveQueue` as shipped (the tally read once per `QUEUE_TTL`).

Every handoff's position is checked to be the same in all three. Prints the median and
mean milliseconds per handoff and each median as a ratio to the old code's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection

from relaydesk.adapters.storage import handoff as queries
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations, customers, users
from relaydesk.brief import EXAMPLE_BRIEF
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import PRIORITIES, Brief
from relaydesk.domain import handoff
from relaydesk.domain.conversation import window_expires_at
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.policy import HandoffDraft
from relaydesk.domain.routing import Waiting
from relaydesk.services.handoff import LiveQueue

START = datetime(2026, 12, 2, 10, tzinfo=UTC)
Snapshot = Callable[[Connection, int, HandoffDraft, datetime, datetime], handoff.QueueSnapshot]


class OldLiveQueue:
    """The live queue before: every waiting row of the queue at each handoff (the handle
    time cached, as it was)."""

    def __init__(self, brief: Brief) -> None:
        self._brief = brief
        self._handle_time: tuple[timedelta, int] | None = None

    def snapshot(
        self,
        conn: Connection,
        conversation_id: int,
        draft: HandoffDraft,
        window_from: datetime,
        now: datetime,
    ) -> handoff.QueueSnapshot:
        ahead = [
            Waiting(
                conversation_id=row.id,
                queue=draft.queue,
                priority=row.priority if row.priority in PRIORITIES else draft.priority,  # type: ignore[arg-type]
                queued_at=row.queued_at,
                window_closes_at=window_expires_at(row.last_inbound_at),
            )
            for row in queries.queued_in(conn, draft.queue)
            if row.id != conversation_id
        ]
        joining = Waiting(
            conversation_id=conversation_id,
            queue=draft.queue,
            priority=draft.priority,  # type: ignore[arg-type]
            queued_at=now,
            window_closes_at=window_expires_at(window_from),
        )
        capacity, free = handoff.serving(
            queries.online_agents(conn), draft.queue, self._brief.queues, draft.language
        )
        if self._handle_time is None:
            self._handle_time = handoff.handle_time(
                queries.handle_times(conn, draft.queue, handoff.HANDLE_TIME_SAMPLE)
            )
        average, samples = self._handle_time
        return handoff.QueueSnapshot(
            queue=draft.queue,
            position=handoff.position_in_queue(ahead, joining, now),
            agents_serving=capacity,
            free_slots=free,
            average_handle_time=average,
            handle_time_samples=samples,
        )


def seed(db: Database, waiting: int, rng: random.Random) -> None:
    """`waiting` conversations queued in general over the last six hours, and agents."""
    customer_rows, conversation_rows = [], []
    for cid in range(1, waiting + 1):
        queued_at = START - timedelta(seconds=rng.randint(60, 6 * 3600))
        # most wrote just before escalating; one in fifty wrote 22 to 24 hours ago
        last = (
            queued_at if rng.random() > 0.02 else START - timedelta(minutes=rng.randint(1320, 1440))
        )
        customer_rows.append({"id": cid, "created_at": START, "updated_at": START})
        conversation_rows.append(
            {
                "id": cid,
                "customer_id": cid,
                "phone_number_id": "1",
                "status": "queued",
                "queue": "general",
                "priority": rng.choice(PRIORITIES),
                "queued_at": queued_at,
                "last_inbound_at": last,
                "created_at": queued_at,
                "updated_at": queued_at,
            }
        )
    agent_rows = [
        {
            "id": i,
            "email": f"agent{i}@example.com",
            "name": f"Agent {i}",
            "role": "agent",
            "skills": ["orders"],
            "languages": ["en"],
            "capacity": 3,
            "presence": "online",
            "created_at": START,
        }
        for i in range(1, 13)
    ]
    with db.write() as conn:
        if customer_rows:
            conn.execute(customers.insert(), customer_rows)
            conn.execute(conversations.insert(), conversation_rows)
        conn.execute(users.insert(), agent_rows)


def join(conn: Connection, cid: int, priority: str, now: datetime) -> None:
    """The escalated conversation, stored as queued (as `finish_inbound` does)."""
    conn.execute(customers.insert().values(id=cid, created_at=now, updated_at=now))
    conn.execute(
        conversations.insert().values(
            id=cid,
            customer_id=cid,
            phone_number_id="1",
            status="queued",
            queue="general",
            priority=priority,
            queued_at=now,
            last_inbound_at=now,
            created_at=now,
            updated_at=now,
        )
    )


def run(
    path: Path, waiting: int, handoffs: int, rate: float, snapshot: Snapshot
) -> tuple[list[float], list[int]]:
    """Milliseconds per snapshot and the positions, for one way on a fresh database."""
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db.engine)
        seed(db, waiting, random.Random(waiting))
        rng = random.Random(1)
        times: list[float] = []
        positions: list[int] = []
        with db.write() as conn:
            for n in range(handoffs):
                now = START + timedelta(seconds=n / rate)
                cid, priority = 1_000_000 + n, rng.choice(PRIORITIES)
                draft = HandoffDraft("general", priority, (), DialogueState())
                started = time.perf_counter()
                snap = snapshot(conn, cid, draft, now, now)
                times.append((time.perf_counter() - started) * 1000)
                positions.append(snap.position)
                join(conn, cid, priority, now)
        return times, positions
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", default="10,1000,10000", help="queue lengths, commas")
    parser.add_argument("--handoffs", type=int, default=200, help="escalations per length")
    parser.add_argument("--rate", type=float, default=10.0, help="escalations per second")
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.waiting.split(",")]
    if args.handoffs < 1 or args.rate <= 0 or min(lengths) < 0:
        parser.error("--handoffs must be 1 or more, --rate positive, --waiting 0 or more")
    brief = load_brief(EXAMPLE_BRIEF)
    ways: dict[str, Callable[[], Snapshot]] = {
        "old": lambda: OldLiveQueue(brief).snapshot,
        "new, cold": lambda: LiveQueue(brief, queue_ttl=timedelta(0)).snapshot,
        "new": lambda: LiveQueue(brief).snapshot,
    }
    print(f"{args.handoffs} handoffs per queue length, {args.rate:g}/s; ms per snapshot")
    print()
    print("| waiting | way | median ms | mean ms | median vs old |")
    print("| ---: | --- | ---: | ---: | ---: |")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for length in lengths:
            results = {}
            for i, (name, make) in enumerate(ways.items()):
                path = Path(tmp) / f"{length}-{i}.sqlite"
                results[name] = run(path, length, args.handoffs, args.rate, make())
            baseline = statistics.median(results["old"][0])
            for name, (times, positions) in results.items():
                if positions != results["old"][1]:
                    failed = True
                    print(f"!!! {name}: positions differ from the old code's", file=sys.stderr)
                median = statistics.median(times)
                print(
                    f"| {length:,} | {name} | {median:.3f} | {statistics.fmean(times):.3f} "
                    f"| {median / baseline:.3f} |"
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
