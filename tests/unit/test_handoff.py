"""The handoff message: an honest wait from the live queue, out-of-hours copy in the
business's time zone, and CSAT reply ids. Pure tables over the bundled example brief
(Northwind Goods, Europe/Madrid, Mon-Fri 09:00-18:00, Sat 10:00-14:00, holidays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import handoff, routing
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.handoff import QueueSnapshot, WaitBasis, WaitEstimate
from relaydesk.domain.outbound import Text
from relaydesk.domain.policy import MessageView, step, with_wait

MADRID = ZoneInfo("Europe/Madrid")
TEN = timedelta(minutes=10)


def madrid(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


#: Friday 27 November 2026, 11:00 in Madrid: open.
OPEN = madrid(2026, 11, 27, 11)


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def snap(position: int = 0, serving: int = 0, free: int = 0, aht: timedelta = TEN) -> QueueSnapshot:
    return QueueSnapshot("general", position, serving, free, aht, 0)


# -- the wait ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snapshot", "minutes"),
    [
        # a free agent takes it at once (assignment runs every second): the floor
        (snap(position=0, serving=2, free=1), 1),
        (snap(position=1, serving=4, free=2), 1),
        # everyone busy: (ahead + 1) * handle time / capacity
        (snap(position=0, serving=2, free=0), 5),
        (snap(position=3, serving=2, free=0), 20),
        # more conversations ahead: longer
        (snap(position=7, serving=2, free=0), 40),
        # more agents online: shorter
        (snap(position=7, serving=8, free=0), 10),
        # free slots absorb the first ones ahead
        (snap(position=5, serving=4, free=2), 10),
        # learned handle time
        (snap(position=1, serving=1, free=0, aht=timedelta(minutes=3)), 6),
        # clamped at the ceiling, never a precise-looking figure hours out
        (snap(position=100, serving=1, free=0), 240),
    ],
)
def test_live_wait(brief: Brief, snapshot: QueueSnapshot, minutes: int) -> None:
    estimate = handoff.estimate_wait(brief, "P3", snapshot, OPEN)
    assert estimate.basis is WaitBasis.LIVE_QUEUE
    assert estimate.wait == timedelta(minutes=minutes)
    assert estimate.by is None


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "1 minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=12), "12 minutes"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(minutes=60), "1 hour"),
        (timedelta(minutes=83), "1 hour 25 minutes"),
        (timedelta(hours=2, minutes=1), "2 hours"),
        (timedelta(hours=4), "4 hours"),
    ],
)
def test_humanise(delta: timedelta, text: str) -> None:
    assert handoff.humanise(delta) == text


@pytest.mark.parametrize(
    ("estimate", "text"),
    [
        (WaitEstimate(WaitBasis.LIVE_QUEUE, timedelta(minutes=12)), "about 12 minutes"),
        (WaitEstimate(WaitBasis.LIVE_QUEUE, routing.MAX_WAIT), "4 hours or more"),
        (WaitEstimate(WaitBasis.SLA_TARGET, timedelta(hours=1)), "up to 1 hour"),
        (
            WaitEstimate(WaitBasis.NOBODY_SERVING, timedelta(minutes=15)),
            "up to 15 minutes (our target; nobody from the team is online right now)",
        ),
        (
            WaitEstimate(
                WaitBasis.LIVE_QUEUE, timedelta(minutes=40), by=madrid(2026, 11, 28, 10, 20)
            ),
            "by tomorrow at 10:20 Madrid time",
        ),
    ],
)
def test_wait_text(estimate: WaitEstimate, text: str) -> None:
    assert handoff.wait_text(estimate, OPEN, MADRID) == text


def test_the_handoff_message_names_the_team_and_the_wait(brief: Brief) -> None:
    estimate = handoff.estimate_wait(brief, "P3", snap(position=3, serving=2), OPEN)
    text = handoff.handoff_text(brief, "general", estimate, OPEN)
    assert "general team" in text
    assert "Expected wait: about 20 minutes." in text
    assert "{" not in text


def test_a_live_wait_past_closing_time_names_when(brief: Brief) -> None:
    # Friday 17:50: 40 minutes of queue end on Saturday, 30 minutes after opening
    friday_evening = madrid(2026, 11, 27, 17, 50)
    estimate = handoff.estimate_wait(brief, "P3", snap(position=7, serving=2), friday_evening)
    assert estimate.by == madrid(2026, 11, 28, 10, 30)
    assert "by tomorrow at 10:30 Madrid time" in handoff.handoff_text(
        brief, "general", estimate, friday_evening
    )


# -- nobody serving ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "now", "wait", "by"),
    [
        # the SLA's first-response target, stated as an upper bound
        ("P3", OPEN, timedelta(hours=1), None),
        ("P2", OPEN, timedelta(minutes=15), None),
        # a business-hours target that runs past closing ends after the next opening
        ("P3", madrid(2026, 11, 27, 17, 30), timedelta(hours=1), madrid(2026, 11, 28, 10, 30)),
        # P1 counts wall-clock time (business_hours: false)
        ("P1", madrid(2026, 11, 27, 17, 58), timedelta(minutes=5), None),
    ],
)
def test_nobody_serving_quotes_the_sla_target_as_a_bound(
    brief: Brief, priority: str, now: datetime, wait: timedelta, by: datetime | None
) -> None:
    estimate = handoff.estimate_wait(brief, priority, snap(position=2), now)
    assert estimate.basis is WaitBasis.NOBODY_SERVING
    assert (estimate.wait, estimate.by) == (wait, by)
    text = handoff.handoff_text(brief, "billing", estimate, now)
    assert "nobody from the team is online right now" in text
    assert "our target" in text


def test_no_sla_for_the_priority_and_nobody_serving_uses_the_fallback(brief: Brief) -> None:
    without = brief.model_copy(update={"slas": {}})
    estimate = handoff.estimate_wait(without, "P3", snap(), OPEN)
    assert estimate.basis is WaitBasis.UNKNOWN
    assert handoff.handoff_text(without, "general", estimate, OPEN) == brief.fallback.connecting


# -- out of hours -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "opens_at", "opens"),
    [
        # Friday night: Saturday's short morning
        (madrid(2026, 11, 27, 20), madrid(2026, 11, 28, 10), "tomorrow at 10:00 Madrid time"),
        # Saturday afternoon, across the weekend: Monday morning
        (madrid(2026, 11, 28, 15), madrid(2026, 11, 30, 9), "Monday at 09:00 Madrid time"),
        # Sunday
        (madrid(2026, 11, 29, 12), madrid(2026, 11, 30, 9), "tomorrow at 09:00 Madrid time"),
        # early on a weekday: later today
        (madrid(2026, 12, 1, 7, 30), madrid(2026, 12, 1, 9), "today at 09:00 Madrid time"),
        # Monday evening before a Tuesday holiday (8 December): Wednesday
        (madrid(2026, 12, 7, 19), madrid(2026, 12, 9, 9), "Wednesday at 09:00 Madrid time"),
        # Christmas Eve after closing, Christmas Day closed: Saturday 26th
        (madrid(2026, 12, 24, 19), madrid(2026, 12, 26, 10), "Saturday at 10:00 Madrid time"),
    ],
)
def test_out_of_hours_says_when_the_team_is_back(
    brief: Brief, now: datetime, opens_at: datetime, opens: str
) -> None:
    # agents left online overnight do not make a live estimate
    estimate = handoff.estimate_wait(brief, "P3", snap(serving=4, free=4), now)
    assert estimate.basis is WaitBasis.OUT_OF_HOURS
    assert estimate.opens_at == opens_at
    text = handoff.handoff_text(brief, "general", estimate, now)
    assert text == handoff.fill(brief.handoff.out_of_hours, brief, team="general", opens=opens)
    assert f"({opens})" in text


def test_opening_more_than_a_week_away_names_the_date() -> None:
    at = datetime(2027, 1, 4, 9, tzinfo=MADRID)
    now = datetime(2026, 12, 24, 19, tzinfo=MADRID)
    assert handoff.when_text(at, now, MADRID) == "Monday 4 January at 09:00 Madrid time"


@pytest.mark.parametrize(
    ("zone", "name"),
    [("Europe/Madrid", "Madrid"), ("America/New_York", "New York"), ("UTC", "UTC")],
)
def test_zone_names(zone: str, name: str) -> None:
    assert handoff.zone_name(ZoneInfo(zone)) == name


# -- the figures ------------------------------------------------------------------------


def waiting(cid: int, priority: str, minutes_ago: int) -> routing.Waiting:
    return routing.Waiting(cid, "general", priority, OPEN - timedelta(minutes=minutes_ago))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("queue", "priority", "position"),
    [
        ([], "P3", 0),
        # priority first: a P2 joins ahead of P3s, behind the P1 and the older P2
        ([waiting(1, "P3", 30), waiting(2, "P2", 5), waiting(3, "P1", 1)], "P2", 2),
        # then the oldest: everyone at the same priority was there first
        ([waiting(1, "P3", 30), waiting(2, "P3", 5)], "P3", 2),
        ([waiting(1, "P4", 30), waiting(2, "P4", 5)], "P3", 0),
    ],
)
def test_position_in_routing_order(
    queue: list[routing.Waiting], priority: str, position: int
) -> None:
    joining = routing.Waiting(99, "general", priority, OPEN)  # type: ignore[arg-type]
    assert handoff.position_in_queue(queue, joining, OPEN) == position


def test_serving_counts_the_qualified_online_agents(brief: Brief) -> None:
    agents = [
        routing.Agent(1, frozenset({"orders"}), frozenset({"en"}), 3, routing.Presence.ONLINE, 1),
        routing.Agent(2, frozenset({"orders"}), frozenset({"es"}), 2, routing.Presence.ONLINE, 2),
        routing.Agent(3, frozenset({"payments"}), frozenset({"en"}), 5, routing.Presence.ONLINE),
        routing.Agent(4, frozenset({"orders"}), frozenset({"en"}), 5, routing.Presence.AWAY),
    ]
    assert handoff.serving(agents, "general", brief.queues, None) == (5, 2)
    assert handoff.serving(agents, "general", brief.queues, "es") == (2, 0)
    assert handoff.serving(agents, "billing", brief.queues, "en") == (5, 5)


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([], (handoff.DEFAULT_HANDLE_TIME, 0)),
        ([timedelta(minutes=4)], (timedelta(minutes=4), 1)),
        ([timedelta(minutes=m) for m in (2, 30, 4)], (timedelta(minutes=4), 3)),
        ([timedelta(minutes=m) for m in (2, 4, 6, 100)], (timedelta(minutes=5), 4)),
        # a clock skew or a bad row is not a handle time
        ([timedelta(0), timedelta(minutes=-3)], (handoff.DEFAULT_HANDLE_TIME, 0)),
    ],
)
def test_handle_time_is_the_median(
    durations: list[timedelta], expected: tuple[timedelta, int]
) -> None:
    assert handoff.handle_time(durations) == expected


def test_snapshot_refuses_negative_figures() -> None:
    with pytest.raises(ValueError, match="position"):
        QueueSnapshot("general", -1, 0, 0)
    with pytest.raises(ValueError, match="average_handle_time"):
        QueueSnapshot("general", 0, 1, 0, timedelta(0))


# -- the policy's escalation, worded from the live queue -----------------------------------


def test_with_wait_rewords_the_one_handoff_message_and_records_the_figures(brief: Brief) -> None:
    state = ConversationState(1, ConversationStatus.BOT, OPEN)
    view = MessageView("text", "talk to a person", None, OPEN)
    outcome = step(
        state, view, Understanding(None, 0.0, human_request=0.9), brief, OPEN, DialogueState()
    )
    assert outcome.decision.action is Action.ESCALATE
    assert outcome.decision.detail["wait_basis"] == "sla_first_response"
    live = with_wait(outcome, brief, snap(position=3, serving=2), OPEN)
    (reply,) = live.decision.replies
    assert isinstance(reply, Text)
    assert "about 20 minutes" in reply.body
    assert live.decision.detail["wait_basis"] == "live_queue"
    assert live.decision.detail["queue_position"] == 3
    assert live.decision.detail["agents_serving"] == 2
    assert live.decision.detail["wait_seconds"] == 1200
    assert live.dialogue.tried == ("escalated",)
    assert live.dialogue.repeats_of(reply.body) == 1


def test_the_frustrated_playbook_keeps_its_acknowledgement(brief: Brief) -> None:
    state = ConversationState(1, ConversationStatus.BOT, OPEN)
    view = MessageView("text", "this is useless, where is my order", None, OPEN)
    understanding = Understanding(
        "order_status", 0.95, ranking=(("order_status", 0.95),), sentiment=-0.9
    )
    outcome = step(state, view, understanding, brief, OPEN, DialogueState())
    live = with_wait(outcome, brief, snap(position=0, serving=1, free=1), OPEN)
    (reply,) = live.decision.replies
    route, playbook = live.decision.route, brief.playbooks.frustrated
    assert isinstance(reply, Text)
    assert route is not None
    assert playbook is not None
    assert reply.body.startswith(handoff.fill(playbook.acknowledge, brief))
    team = route.queue.replace("_", " ")
    assert reply.body.endswith(
        handoff.fill(brief.handoff.message, brief, team=team, wait="about 1 minute")
    )


def test_non_escalations_are_left_alone(brief: Brief) -> None:
    state = ConversationState(1, ConversationStatus.QUEUED, OPEN, queue="general")
    view = MessageView("text", "talk to a person", None, OPEN)
    outcome = step(
        state, view, Understanding(None, 0.0, human_request=0.9), brief, OPEN, DialogueState()
    )
    assert outcome.decision.action is Action.SILENT  # no second handoff message
    assert outcome.handoff is None
    assert with_wait(outcome, brief, snap(), OPEN) is outcome


# -- CSAT reply ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply_id", "expected"),
    [
        ("csat:42:5", handoff.CsatReply(42, 5)),
        ("csat:7:1", handoff.CsatReply(7, 1)),
        ("csat:42:6", None),
        ("csat:42:0", None),
        ("csat:0:5", None),
        ("csat:42", None),
        ("csat:42:5:1", None),
        ("csat:x:5", None),
        ("csat:-4:5", None),
        ("csat:4²:5", None),
        ("csat:42: 5", None),
        ("human", None),
        (None, None),
    ],
)
def test_csat_ids(reply_id: str | None, expected: handoff.CsatReply | None) -> None:
    assert handoff.parse_csat(reply_id) == expected
    if expected is not None:
        assert handoff.is_csat(reply_id)
