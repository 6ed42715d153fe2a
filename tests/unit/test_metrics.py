"""The scorecard's figures on a small hand-made week, every value worked out by hand.

The week is Monday 2026-11-23 to Monday 2026-11-30 (UTC); the figures are read on
2026-12-10, more than 7 days after every contact ended. All escalations are P1 (five
minutes to a first response, four hours to resolution, round the clock).

c1  bot-only, answered twice, never came back                    -> automated resolution
c2  bot-only, came back three days later                          -> reopened, a failure
c3  P1, human request, replied in 2 min, customer silent 10:02-15:00 (the resolution clock
    paused), resolved 15:30; CSAT 5; "needed"; draft sent unchanged -> SLA met
c4  clarified, customer back 2 h later, escalated for low confidence (came back), replied
    in 10 min (first response breached), resolved 13:00; CSAT sent, not answered;
    "too late"; draft rewritten; the customer's next conversation 2 days later -> reopened
c5  P1 refund (policy matrix), replied in 1 min, waiting on the customer ever since (the
    resolution clock paused short of target): SLA not judged; "not needed"
c6  started the week before: not in the cohort
c7  started Sunday 23:00, escalated after midnight (next week) for a repeated question,
    replied 30 min later (breached), resolved 02:00: spans two weeks, counts in this one
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.domain.metric_facts import ConversationFacts, DecisionFact, MessageFact, percentile

BRIEF = load_brief(EXAMPLE_BRIEF)
START = datetime(2026, 11, 23, tzinfo=UTC)
END = START + timedelta(days=7)
NOW = datetime(2026, 12, 10, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def conv(cid: int, created: datetime, **values: Any) -> ConversationFacts:
    defaults: dict[str, Any] = {
        "customer_id": cid,
        "number": "111",
        "source": "organic",
        "status": "bot",
        "queue": None,
        "priority": None,
        "assignee_id": None,
        "escalated_at": None,
        "resolved_at": None,
        "csat_state": None,
        "csat_rating": None,
        "feedback": None,
    }
    return ConversationFacts(id=cid, created_at=created, **(defaults | values))


def msgs(*items: tuple[datetime, str]) -> tuple[MessageFact, ...]:
    return tuple(MessageFact(t, party) for t, party in items)


def dec(t: datetime, action: str, intent: str | None = None, *triggers: str) -> DecisionFact:
    return DecisionFact(t, action, intent, tuple(triggers))


C1 = conv(
    1,
    at(23, 10),
    messages=msgs((at(23, 10), "customer"), (at(23, 10), "bot"), (at(23, 10, 5), "customer")),
    decisions=(dec(at(23, 10), "answer", "order_status"), dec(at(23, 10, 5), "answer", "thanks")),
)
C2 = conv(
    2,
    at(24, 9),
    source="ad",
    messages=msgs((at(24, 9), "customer"), (at(24, 9), "bot"), (at(27, 9), "customer")),
    decisions=(dec(at(24, 9), "answer", "returns"), dec(at(27, 9), "answer", "returns")),
)
C3 = conv(
    3,
    at(25, 10),
    status="resolved",
    queue="general",
    priority="P1",
    assignee_id=7,
    escalated_at=at(25, 10),
    resolved_at=at(25, 15, 30),
    csat_state="answered",
    csat_rating=5,
    feedback="needed",
    messages=msgs(
        (at(25, 10), "customer"),
        (at(25, 10, 2), "agent"),
        (at(25, 15), "customer"),
        (at(25, 15, 1), "agent"),
    ),
    decisions=(dec(at(25, 10), "escalate", "human_request", "human_request"),),
    rewrites=(("Hi Ana, how can I help?", "Hi Ana, how can I help?"),),
)
C4 = conv(
    4,
    at(26, 10),
    number="222",
    status="resolved",
    queue="general",
    priority="P1",
    assignee_id=8,
    escalated_at=at(26, 12),
    resolved_at=at(26, 13),
    csat_state="sent",
    feedback="too_late",
    next_conversation_at=at(28, 10),
    messages=msgs(
        (at(26, 10), "customer"),
        (at(26, 10), "bot"),
        (at(26, 12), "customer"),
        (at(26, 12, 10), "agent"),
    ),
    decisions=(dec(at(26, 10), "clarify"), dec(at(26, 12), "escalate", None, "low_confidence")),
    rewrites=(("Hello", "Hello there, sorry for the wait"),),
)
C5 = conv(
    5,
    at(27, 10),
    status="assigned",
    queue="billing",
    priority="P1",
    assignee_id=7,
    escalated_at=at(27, 10),
    feedback="not_needed",
    messages=msgs((at(27, 10), "customer"), (at(27, 10, 1), "agent")),
    decisions=(dec(at(27, 10), "escalate", "refund", "policy_matrix"),),
)
C6 = conv(6, at(20, 10), status="resolved", escalated_at=at(20, 10), resolved_at=at(24, 10))
C7 = conv(
    7,
    at(29, 23),
    status="resolved",
    queue="general",
    priority="P1",
    assignee_id=8,
    escalated_at=at(30, 0, 30),
    resolved_at=at(30, 2),
    messages=msgs(
        (at(29, 23), "customer"),
        (at(29, 23), "bot"),
        (at(30, 0, 30), "customer"),
        (at(30, 1), "agent"),
    ),
    decisions=(
        dec(at(29, 23), "answer", "delivery"),
        dec(at(30, 0, 30), "escalate", "delivery", "repeated_question"),
    ),
)
WEEK = m.cohort([C1, C2, C3, C4, C5, C6, C7], START, END)


def test_the_cohort_is_the_conversations_that_started_in_the_week() -> None:
    """c6 started the week before; c7 started on Sunday and ended in the next week."""
    assert [c.id for c in WEEK] == [1, 2, 3, 4, 5, 7]


class TestSpeed:
    def test_first_response_counts_replied_escalations(self) -> None:
        """2 min, 10 min, 1 min, 30 min: p50 is the 2nd of four sorted, p90 the 4th."""
        times = m.first_response(WEEK)
        assert sorted(times.seconds) == [60, 120, 600, 1800]
        assert (times.p50, times.p90) == (120, 1800)

    def test_resolution_counts_resolved_escalations_from_the_first_message(self) -> None:
        """c3 5 h 30, c4 3 h, c7 3 h (from Sunday 23:00); c5 is open."""
        times = m.resolution(WEEK)
        assert sorted(times.ids) == [3, 4, 7]
        assert (times.p50, times.p90) == (10800, 19800)

    def test_escalation_lag_runs_from_the_escalating_decision(self) -> None:
        lag = m.escalation_lag(WEEK)
        assert dict(zip(lag.ids, lag.seconds, strict=True)) == {3: 120, 4: 600, 5: 60, 7: 1800}

    def test_sla_attainment_judges_stopped_clocks_and_pauses_while_waiting(self) -> None:
        """c3 met (the resolution clock counted 2 + 30 min, not 5 h 30); c4 and c7 missed
        their 5-minute first response; c5 waits on the customer: not judged."""
        outcomes = {o.conversation_id: o.met for o in m.sla_outcomes(WEEK, BRIEF, NOW)}
        assert outcomes == {3: True, 4: False, 5: None, 7: False}
        by_priority = m.sla_attainment(m.sla_outcomes(WEEK, BRIEF, NOW), lambda o: o.priority)
        assert (by_priority["P1"].numerator, by_priority["P1"].denominator) == (1, 3)
        by_agent = m.sla_attainment(m.sla_outcomes(WEEK, BRIEF, NOW), lambda o: o.assignee_id)
        assert {k: r.value for k, r in by_agent.items()} == {7: 1.0, 8: 0.0}
        by_queue = m.sla_attainment(m.sla_outcomes(WEEK, BRIEF, NOW), lambda o: o.queue)
        assert {k: r.value for k, r in by_queue.items()} == {"general": round(1 / 3, 4)}

    def test_percentile_is_nearest_rank(self) -> None:
        assert percentile([4, 1, 3, 2], 50) == 2
        assert percentile(list(range(1, 11)), 90) == 9
        assert percentile([], 50) is None


class TestQuality:
    def test_escalation_rate_and_per_trigger(self) -> None:
        assert (m.escalation_rate(WEEK).numerator, m.escalation_rate(WEEK).denominator) == (4, 6)
        per = {k: r.hits for k, r in m.escalation_by_trigger(WEEK).items()}
        assert per == {
            "human_request": (3,),
            "low_confidence": (4,),
            "policy_matrix": (5,),
            "repeated_question": (7,),
        }

    def test_precision_counts_needed_and_too_late_among_judged(self) -> None:
        rate = m.escalation_precision(WEEK)
        assert (rate.numerator, rate.denominator, rate.hits) == (2, 3, (3, 4))

    def test_recall_proxy_counts_late_and_came_back_as_missed(self) -> None:
        """c4 is "too late" (and came back 2 h after a clarification); c7 came back 1 h 30
        after an answer; c5 was not needed. Only c3 came in time."""
        assert [c.id for c in WEEK if m.came_back(c)] == [4, 7]
        rate = m.escalation_recall(WEEK)
        assert (rate.numerator, rate.denominator, rate.hits) == (1, 3, (3,))

    def test_rewrite_rate_over_agents_drafts(self) -> None:
        stats = m.rewrite_rate(WEEK)
        assert (stats.replies_with_draft, stats.rewritten, stats.rewrite_rate) == (2, 1, 0.5)

    def test_draft_acceptance_is_one_minus_the_rewrite_rate(self) -> None:
        """Counted without edit distances: a change of spacing only is no rewrite, and a
        pair of 20,000 characters or more is measured with difflib as before."""
        long = "".join(chr(0x4E00 + i) for i in range(10_000))  # no repeats: difflib is quick
        convs = [
            *WEEK,
            conv(20, at(27, 10), rewrites=(("Thanks  a lot", " Thanks a lot\n"),)),
            conv(21, at(27, 11), rewrites=((long + "a", long + "b"), ("Yes", "No"))),
        ]
        for pool in (WEEK, convs, []):
            got, stats = m.draft_acceptance(pool), m.rewrite_rate(pool)
            assert got.replies == stats.replies_with_draft
            expected = None if stats.rewrite_rate is None else round(1 - stats.rewrite_rate, 4)
            assert got.value == expected
        assert m.draft_acceptance(convs) == m.Acceptance(0.4, 5, (3, 20))

    def test_csat_average_and_response_rate(self) -> None:
        """c3 rated 5; c4 was asked and did not answer; the rest were never asked."""
        assert (m.csat(WEEK).value, m.csat(WEEK).count) == (5.0, 1)
        rate = m.csat_response_rate(WEEK)
        assert (rate.numerator, rate.denominator) == (1, 2)

    def test_reopen_rate_over_resolved(self) -> None:
        """c4's customer came back 2 days after resolution; c3 and c7 did not."""
        rate = m.reopen_rate(WEEK, NOW)
        assert (rate.numerator, rate.denominator, rate.hits) == (1, 3, (4,))

    def test_no_csat_at_all_is_none_not_zero(self) -> None:
        assert m.csat([C1, C2]).value is None
        assert m.csat_response_rate([C1, C2]).value is None


class TestOutcomes:
    def test_deflection_is_the_bot_only_share(self) -> None:
        assert m.deflection(WEEK).hits == (1, 2)
        assert m.deflection(WEEK).value == round(2 / 6, 4)

    def test_automated_resolution_excludes_bot_only_that_came_back(self) -> None:
        rate = m.automated_resolution(WEEK, NOW)
        assert (rate.numerator, rate.denominator, rate.hits) == (1, 6, (1,))

    def test_a_contact_whose_seven_days_have_not_passed_is_not_judged(self) -> None:
        """On Thursday the 26th c1 ended 3 days ago: too early; c2 came back already."""
        now = at(27, 12)
        assert m.reopened(C1, now) is None
        assert m.reopened(C2, now) is True
        rate = m.automated_resolution([C1, C2], now)
        assert (rate.numerator, rate.denominator) == (0, 1)

    def test_top_failure_intents(self) -> None:
        top = m.top_failure_intents(WEEK, NOW)
        assert [(f.intent, f.failed, f.ids) for f in top] == [
            ("(none)", 1, (4,)),
            ("delivery", 1, (7,)),
            ("returns", 1, (2,)),
        ]


class TestScorecard:
    def test_lines_against_the_briefs_targets(self) -> None:
        lines = {line.key: line for line in s.scorecard(WEEK, BRIEF, NOW)}
        assert lines["first_response_p90"].value == 1800
        assert lines["first_response_p90"].target == 120  # kpi_targets: 2m
        assert lines["first_response_p90"].on_target is False
        assert lines["escalation_precision"].value == round(2 / 3, 4)
        assert lines["escalation_precision"].on_target is False  # target 0.8
        assert lines["csat"].value == 5.0
        assert lines["csat"].on_target is True  # target 4.5
        assert lines["draft_acceptance"].value == 0.5
        assert lines["draft_acceptance"].ids == (3,)  # c3 sent its draft unchanged
        assert lines["sla_attainment"].ids == (3,)
        assert lines["deflection"].target == 0.5

    def test_compare_with_the_week_before(self) -> None:
        before = s.scorecard([C1], BRIEF, NOW)
        now = s.scorecard(WEEK, BRIEF, NOW)
        change = {c.line.key: c.change for c in s.compare(now, before)}
        assert change["deflection"] == round(2 / 6 - 1, 4)
        assert change["csat"] is None  # no rating the week before

    @pytest.mark.parametrize(
        ("dimension", "expected"),
        [
            ("source", [("organic", 5), ("ad", 1)]),
            ("number", [("111", 5), ("222", 1)]),
            ("intent", [("(none)", 1), ("delivery", 1), ("human_request", 1),
                        ("order_status", 1), ("refund", 1), ("returns", 1)]),
        ],
    )  # fmt: skip
    def test_cohorts(self, dimension: str, expected: list[tuple[str, int]]) -> None:
        rows = s.cohorts(WEEK, dimension, NOW)
        assert [(r.key, r.conversations) for r in rows] == expected

    def test_cohort_rates_are_per_group(self) -> None:
        rows = {r.key: r for r in s.cohorts(WEEK, "source", NOW)}
        assert rows["ad"].deflection.value == 1.0
        assert rows["ad"].automated_resolution.value == 0.0  # c2 came back
        assert rows["organic"].escalation.value == 0.8

    def test_an_unknown_dimension_names_the_choices(self) -> None:
        with pytest.raises(ValueError, match="'campaign'; expected one of: source, intent"):
            s.cohorts(WEEK, "campaign", NOW)

    def test_calibration_reads_failures_first(self) -> None:
        """c4 and c7 failed (same number of messages: lower id first); then c3 (rated 5)
        before c5 (unrated); among the bot's, c2 came back."""
        escalated, bot_only = s.calibration(WEEK, NOW)
        assert [c.id for c in escalated] == [4, 7, 3, 5]
        assert [c.id for c in bot_only] == [2, 1]


def test_the_grafana_dashboard_charts_figures_that_exist() -> None:
    """docs/grafana-scorecard.json plots `relaydesk_scorecard{figure=...}` series."""
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).resolve().parents[2] / "docs" / "grafana-scorecard.json"
    exprs = [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    charted = {re.fullmatch(r'relaydesk_scorecard\{figure="(\w+)"\}', e)[1] for e in exprs}  # type: ignore[index]
    assert charted <= {line.key for line in s.scorecard(WEEK, BRIEF, NOW)}
    assert len(charted) == 12


def test_the_sla_basis_names_the_time_zone_business_hours_are_kept_in() -> None:
    """A stored SLA outcome is not reused under other business hours: the zone counts,
    whether it comes from business_hours.timezone or (unset) business.timezone."""
    hours = BRIEF.business_hours.model_copy(update={"timezone": None})
    madrid = BRIEF.model_copy(update={"business_hours": hours})
    york = madrid.model_copy(
        update={"business": madrid.business.model_copy(update={"timezone": "America/New_York"})}
    )
    assert str(madrid.timezone) != str(york.timezone)
    assert m.sla_basis(madrid) != m.sla_basis(york)
    assert m.sla_basis(madrid) == m.sla_basis(madrid.model_copy())
    assert m.sla_basis(BRIEF) == m.sla_basis(madrid)  # the same zone, however it is set
