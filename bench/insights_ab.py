"""The Insights' reads timed on one seeded SQLite file, so two versions of the code can be
compared in the same session (run it once with each `src` on PYTHONPATH, alternating).

    python -m bench.insights_ab --seed FILE [--conversations 20000] [--weeks 3]
    PYTHONPATH=<one checkout>/src python -m bench.insights_ab FILE --label NAME

Timed, three runs each: the facts of the last complete week before 2026-12-05 12:00 UTC
(`services.insights.facts`), every table of the console's Insights page for the 7
days before then (`services.insights.Tables`: from the conversations' summaries where the
code has them, which `--seed` then stores as the worker's job does), and the figures of
those tables alone from facts read beforehand (the scorecard of the 7 days and of the 7
before, the cohorts, SLA attainment and failure intents: the page's time less its two
reads).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.services import insights
from relaydesk.services.demo_seed import seed
from relaydesk.services.weekly import last_complete_week

try:
    from relaydesk.services.summaries import Refresh
except ImportError:  # code from before the summaries
    Refresh = None  # type: ignore[assignment,misc]

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
PAGE = (("scorecard", None), ("cohorts", "source"), ("cohorts", "intent"),
        ("cohorts", "number"), ("sla", "priority"), ("sla", "queue"), ("sla", "agent"),
        ("failures", None))  # fmt: skip


def _shown(seconds: list[float]) -> str:
    runs = ", ".join(f"{x:.2f}" for x in seconds)
    return f"median {statistics.median(seconds):.2f} s ({runs})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="the SQLite file")
    parser.add_argument("--seed", action="store_true", help="create and fill the file")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument("--label", default="this code")
    args = parser.parse_args()
    brief = load_brief(EXAMPLE_BRIEF)
    db = Database(f"sqlite:///{args.file}")
    if args.seed:
        upgrade(db.engine)
        made = seed(db, brief, conversations_wanted=args.conversations, now=NOW, weeks=args.weeks)
        print(f"seeded {made}")
        if Refresh is not None:  # as the worker's job would have, before any page
            began, refresh = time.perf_counter(), Refresh(db, brief)
            while refresh(NOW):
                pass
            print(f"summarised every conversation in {time.perf_counter() - began:.1f} s")
        return
    wk = last_complete_week(NOW, brief.timezone)
    loads, pages = [], []
    for _ in range(3):
        began = time.perf_counter()
        insights.facts(db, insights.Filters(wk.start, wk.end))
        loads.append(time.perf_counter() - began)
    for _ in range(3):
        began = time.perf_counter()
        tables = insights.Tables(db, brief, insights.Filters(NOW - timedelta(days=7), NOW), NOW)
        for name, by in PAGE:
            tables.rows(name, by=by)
        pages.append(time.perf_counter() - began)
    period = insights.Filters(NOW - timedelta(days=7), NOW)
    convs, before = insights.facts(db, period), insights.facts(db, period.before())
    figures = []
    for _ in range(3):
        began = time.perf_counter()
        outcomes = m.sla_outcomes(convs, brief, NOW)
        s.scorecard(convs, brief, NOW, outcomes)
        s.scorecard(before, brief, NOW)
        for dimension in s.DIMENSIONS:
            s.cohorts(convs, dimension, NOW)
        for key in insights.SLA_KEYS.values():
            m.sla_attainment(outcomes, key)
        m.top_failure_intents(convs, NOW, limit=50)
        figures.append(time.perf_counter() - began)
    print(
        f"{args.label}: week's facts {_shown(loads)}; Insights page tables {_shown(pages)}; "
        f"their figures alone {_shown(figures)}"
    )


if __name__ == "__main__":
    main()
