"""The pure parts of the worker's timers, as tables with a frozen clock: which warnings and
breaches are new, the brief's breach actions, when the ladder times out (in business
time), moving up a tier on demand, the next instant to look again, the CSAT question."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import sla
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.outbound import Button, Buttons, Template
from relaydesk.domain.routing import MoveReason, ladder_due_at, ladder_step, move_up
from relaydesk.services.csat import csat_content
from relaydesk.services.timers import next_instant
from tests.unit.test_routing import LADDERS, QUEUES, waiting

BRIEF = load_brief(EXAMPLE_BRIEF)
MADRID = ZoneInfo("Europe/Madrid")
MIN = timedelta(minutes=1)
CALENDAR = BusinessCalendar.from_brief(BRIEF)


def md(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """Wall-clock time in Madrid, 2026 (30 November is a Monday, 8 December a holiday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


MON_10 = md(30, 10)


def report(priority: str, now: datetime, *replies: datetime) -> sla.SlaReport:
    timeline = sla.SlaTimeline(
        MON_10, tuple(sla.TimelineMessage(at, sla.Party.AGENT) for at in replies)
    )
    return sla.evaluate(timeline, priority, BRIEF, now)  # type: ignore[arg-type]


FR = "first_response@" + MON_10.isoformat()
RES = "resolution@" + MON_10.isoformat()


# -- new warnings and breaches ----------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "after", "handled", "warnings", "breaches"),
    [
        # P3: first response 1h, warned at 48m; resolution 2 business days
        ("P3", 47 * MIN, (), [], []),
        ("P3", 48 * MIN, (), ["first_response"], []),
        # acted on: nothing new
        ("P3", 50 * MIN, ("warning:" + FR,), [], []),
        # the breach is new even when the warning was handled
        ("P3", 60 * MIN, ("warning:" + FR,), [], ["first_response"]),
        # a breach is not warned about as well
        ("P3", 60 * MIN, (), [], ["first_response"]),
        ("P3", 70 * MIN, (FR,), [], []),
        # P1 (around the clock, 5m / 4h): both clocks, each its own key
        ("P1", 5 * 60 * MIN, (FR,), [], ["resolution"]),
        ("P1", 5 * 60 * MIN, (FR, RES), [], []),
    ],
)
def test_new_warnings_and_breaches(
    priority: str,
    after: timedelta,
    handled: tuple[str, ...],
    warnings: list[str],
    breaches: list[str],
) -> None:
    now = report(priority, MON_10 + after)
    assert [s.clock for s in sla.new_warnings(now, handled)] == warnings
    assert [s.clock for s in sla.new_breaches(now, handled)] == breaches


def test_a_paused_clock_past_its_warning_is_not_warned_about() -> None:
    paused = report("P3", MON_10 + 3 * 60 * MIN, MON_10 + 10 * MIN)  # replied: all stopped
    assert sla.new_warnings(paused) == ()
    assert sla.warning_key(paused.resolution) == "warning:" + RES


def test_the_brief_on_breach_overrides_the_per_clock_defaults() -> None:
    assert sla.configured_on_breach(BRIEF, "P3") is None
    assert sla.configured_on_breach(BRIEF, "P4") == (
        sla.BreachAction.RAISE_PRIORITY,
        sla.BreachAction.NOTIFY_SUPERVISORS,
    )
    breached = report("P4", MON_10 + 5 * 60 * MIN)
    assert sla.breach_actions(breached, sla.configured_on_breach(BRIEF, "P4")) == (
        sla.BreachAction.RAISE_PRIORITY,
        sla.BreachAction.NOTIFY_SUPERVISORS,
    )


# -- the ladder in business time --------------------------------------------------------


@pytest.mark.parametrize(
    ("queue", "entered", "due"),
    [
        ("general", MON_10, MON_10 + 10 * MIN),
        # five minutes before closing: the other five when Tuesday opens
        ("general", md(30, 17, 55), md(1, 9, 5, month=12)),
        # Saturday 13:50 (open 10-14): due exactly at closing time, not on Monday
        ("general", md(28, 13, 50), md(28, 14)),
        # Saturday 13:55: Sunday is closed, so Monday 09:05
        ("general", md(28, 13, 55), md(30, 9, 5)),
        # Monday 7 December at 17:55, then Tuesday 8 is a holiday: Wednesday
        ("general", md(7, 17, 55, month=12), md(9, 9, 5, month=12)),
        # entered out of hours (Sunday night): counts from Monday's opening
        ("billing", md(29, 23), md(30, 9, 30)),
        # the last step, and a queue off the ladder, never time out
        ("management", MON_10, None),
        ("partners", MON_10, None),
    ],
)
def test_ladder_due_at_in_business_time(
    queue: str, entered: datetime, due: datetime | None
) -> None:
    conversation = waiting(queue=queue, queued_at=entered, entered_target_at=entered)
    at = ladder_due_at(conversation, LADDERS["shop"], add_open_time=CALENDAR.add_business_time)
    assert at == due
    if due is not None:  # the step moves exactly then, and not a second before
        step: Callable[[datetime], Any] = lambda now: ladder_step(  # noqa: E731
            conversation,
            LADDERS["shop"],
            QUEUES,
            lambda q: True,
            now,
            open_time=CALENDAR.business_time,
        )
        assert step(due - timedelta(seconds=1)) is None
        assert step(due) is not None


def test_ladder_due_at_counts_wall_clock_time_by_default() -> None:
    conversation = waiting(queued_at=MON_10)
    assert ladder_due_at(conversation, LADDERS["shop"]) == MON_10 + 10 * MIN


@pytest.mark.parametrize(
    ("queue", "unavailable", "expected"),
    [
        ("general", set(), ("billing", 3, ())),
        ("general", {"billing"}, ("management", 4, ("billing",))),
        ("billing", set(), ("management", 4, ())),
        # the top has nowhere to go
        ("management", set(), None),
        # off the ladder: the first step above its tier (partners is tier 2)
        ("partners", set(), ("billing", 3, ())),
    ],
)
def test_move_up_ignores_the_timeout(
    queue: str, unavailable: set[str], expected: tuple[str, int, tuple[str, ...]] | None
) -> None:
    conversation = waiting(queue=queue, queued_at=MON_10, entered_target_at=MON_10)
    move = move_up(conversation, LADDERS["shop"], QUEUES, lambda q: q not in unavailable)
    if expected is None:
        assert move is None
        return
    assert move is not None
    assert (move.to_queue, move.tier, move.skipped) == expected
    assert move.reason is MoveReason.SLA_BREACH


# -- when to look again -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("instants", "expected"),
    [
        ([], None),
        ([None, None], None),
        ([MON_10 + MIN, MON_10 + 2 * MIN], MON_10 + MIN),
        ([None, MON_10 + 5 * MIN], MON_10 + 5 * MIN),
        # the past and the present are already acted on
        ([MON_10 - MIN, MON_10, MON_10 + 3 * MIN], MON_10 + 3 * MIN),
    ],
)
def test_next_instant(instants: list[datetime | None], expected: datetime | None) -> None:
    assert next_instant(instants, MON_10) == expected


# -- the CSAT question -------------------------------------------------------------------


def test_csat_inside_the_window_is_reply_buttons_with_rating_ids() -> None:
    content = csat_content(BRIEF, 42, window_open=True)
    assert content == Buttons(
        body=BRIEF.csat.question,
        buttons=(
            Button("csat:42:5", "Great"),
            Button("csat:42:3", "OK"),
            Button("csat:42:1", "Poor"),
        ),
    )


def test_csat_question_placeholders_are_filled() -> None:
    csat = BRIEF.csat.model_copy(update={"question": "{customer_name}, how did {business} do?"})
    brief = BRIEF.model_copy(update={"csat": csat})
    content = csat_content(brief, 1, window_open=True, customer_name="Ana")
    assert isinstance(content, Buttons)
    assert content.body == "Ana, how did Northwind Goods do?"


def test_csat_after_the_window_is_the_template_with_quick_reply_payloads() -> None:
    content = csat_content(BRIEF, 42, window_open=False, customer_name="Ana")
    assert isinstance(content, Template)
    assert (content.name, content.language, content.body_params) == (
        "csat_request",
        "en_US",
        ("Ana",),
    )
    assert content.components[1] == {
        "type": "button",
        "sub_type": "quick_reply",
        "index": 1,
        "parameters": [{"type": "payload", "payload": "csat:42:3"}],
    }
    assert csat_content(BRIEF, 42, window_open=False).body_params == ("there",)  # type: ignore[union-attr]


def test_csat_template_in_the_customer_language_when_the_brief_has_it() -> None:
    brief = BRIEF.model_copy(
        update={
            "templates": BRIEF.templates
            | {
                "csat_request_es": BRIEF.templates["csat_request"].model_copy(
                    update={"language": "es"}
                )
            }
        }
    )
    spanish = csat_content(brief, 7, window_open=False, language="es_ES")
    assert isinstance(spanish, Template) and spanish.language == "es"
    german = csat_content(brief, 7, window_open=False, language="de")
    assert isinstance(german, Template) and german.language == "en_US"


def test_csat_off_or_no_template_after_the_window_sends_nothing() -> None:
    off = BRIEF.model_copy(update={"csat": BRIEF.csat.model_copy(update={"enabled": False})})
    assert csat_content(off, 1, window_open=True) is None
    bare = BRIEF.model_copy(update={"csat": BRIEF.csat.model_copy(update={"template": None})})
    assert csat_content(bare, 1, window_open=False) is None
    assert isinstance(csat_content(bare, 1, window_open=True), Buttons)
