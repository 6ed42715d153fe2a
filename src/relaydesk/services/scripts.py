"""Running operator test scripts: each turn is decided with the decision stage's own step
(`services.replay.decide_turn`), nothing stored or sent, and checked against its `expect`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.scripts import Observed, Script, ScriptTurn, mismatches
from relaydesk.services.decisions import DecisionMaker
from relaydesk.services.replay import decide_turn, readable
from relaydesk.services.understanding import customer_language

#: Time between a script's turns (the customer types and reads).
TURN_GAP = timedelta(seconds=20)


@dataclass(frozen=True, slots=True)
class TurnResult:
    turn: ScriptTurn
    observed: Observed
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScriptResult:
    script: Script
    turns: tuple[TurnResult, ...]

    @property
    def passed(self) -> bool:
        return all(not t.problems for t in self.turns)


def run_scripts(
    scripts: Sequence[Script], decider: DecisionMaker, start: datetime
) -> list[ScriptResult]:
    """Each script as a new customer's conversation starting at `start`."""
    return [run_script(script, decider, start, number) for number, script in enumerate(scripts)]


def run_script(
    script: Script, decider: DecisionMaker, start: datetime, number: int = 0
) -> ScriptResult:
    state = ConversationState(id=number, status=ConversationStatus.BOT, last_inbound_at=None)
    results = []
    now = start
    language: str | None = None  # kept on the customer, as the decision stage keeps it
    for index, turn in enumerate(script.turns):
        message = _message(turn, f"script.{number}.{index}", now)
        (understanding,) = decider.understand_many([message])
        understanding, settled = customer_language(understanding, language)
        language = settled.language
        outcome, state = decide_turn(decider, state, message, understanding, script.attributes, now)
        decision = outcome.decision
        replies, buttons = readable(decision.replies)
        observed = Observed(
            action=decision.action.value,
            intent=decision.intent,
            triggers=tuple(t.type for t in decision.triggers),
            queue=state.queue,
            priority=state.priority,
            replies=replies,
            buttons=buttons,
            language=understanding.language,
        )
        results.append(TurnResult(turn, observed, tuple(mismatches(turn.expect, observed))))
        now += TURN_GAP
    return ScriptResult(script, tuple(results))


def _message(turn: ScriptTurn, wamid: str, now: datetime) -> InboundMessage:
    sender = Sender(wa_id="script")
    if turn.kind == "say":
        return InboundMessage(wamid, "script", sender, now, "text", turn.value)
    if turn.kind == "tap":
        return InboundMessage(
            wamid, "script", sender, now, "interactive", turn.title or turn.value, turn.value
        )
    return InboundMessage(wamid, "script", sender, now, turn.value, None)
