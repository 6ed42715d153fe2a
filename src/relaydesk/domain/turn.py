"""One customer message's turn around the policy: the state the policy sees when the message
arrives, the backlog rule, and the state the decision leaves behind.

The webhook path's decision stage (`services.decisions`) and the pre-launch replay
(`services.replay`) both decide a message as `arrived` -> `backlogged` or the policy ->
`settled`, so a replayed conversation takes the same decisions as it would have live.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import ConversationState
from relaydesk.domain.decision import Action, Decision
from relaydesk.domain.policy import Outcome


def arrived(state: ConversationState, message: InboundMessage) -> ConversationState:
    """The state the policy decides `message` in: the customer service window counts from
    the newest customer message sent, whichever order they arrive in."""
    window_from = max(message.sent_at, state.last_inbound_at or message.sent_at)
    return replace(state, last_inbound_at=window_from)


def backlogged(
    state: ConversationState, message: InboundMessage, now: datetime, max_age: timedelta
) -> Outcome | None:
    """A message older than `max_age` when it is decided is deferred, not answered (an old
    backlog after an outage would otherwise get stale replies); None: decide it."""
    age = now - message.sent_at
    if age <= max_age:
        return None
    detail = {"reason": "backlog", "age_seconds": int(age.total_seconds())}
    return Outcome(Decision(Action.DEFER, "backlog", detail=detail), state.dialogue)


def settled(state: ConversationState, outcome: Outcome) -> ConversationState:
    """The conversation's state after `outcome`: its status, its route when it escalates
    (queue, tier, priority; unchanged otherwise) and the dialogue it leaves."""
    decision = outcome.decision
    route = decision.route
    return replace(
        state,
        status=decision.status_after or state.status,
        queue=route.queue if route else state.queue,
        tier=route.tier if route else state.tier,
        priority=route.priority if route else state.priority,
        dialogue=outcome.dialogue,
    )
