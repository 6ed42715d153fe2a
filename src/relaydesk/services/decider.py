"""The one decision interface the inbound path calls: understanding, then policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from relaydesk.brief.schema import Brief
from relaydesk.domain import policy
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import ConversationState
from relaydesk.domain.decision import Understanding
from relaydesk.nlu.backends import BACKENDS
from relaydesk.nlu.datasets import load_csv
from relaydesk.services.understanding import Understander

_TRAINED: dict[tuple[str, str, str], Understander] = {}


class BriefDecider:
    """Understands messages with the brief's NLU backend; `domain.policy` decides."""

    def __init__(
        self,
        brief: Brief,
        understander: Understander,
        booking_url: Callable[[int], str] | None = None,
    ) -> None:
        """`booking_url(conversation_id)`: the tracked link the pricing playbook sends
        instead of the brief's booking URL (`services.links`); None sends the brief's."""
        self.brief = brief
        self._understander = understander
        self.booking_url = booking_url

    @classmethod
    def from_brief(
        cls,
        brief: Brief,
        history: Path | None = None,
        booking_url: Callable[[int], str] | None = None,
    ) -> BriefDecider:
        """Train the brief's intent classifier on its examples and the labelled history
        (about a second), once per brief version and history file in a process: a trained
        model is never changed afterwards."""
        key = (brief.version, brief.nlu.backend, str(history or ""))
        understander = _TRAINED.get(key)
        if understander is None:
            classifier = BACKENDS[brief.nlu.backend]()
            labelled = load_csv(history) if history is not None else None
            understander = Understander.trained(brief, classifier, labelled)
            _TRAINED[key] = understander
        return cls(brief, understander, booking_url)

    def understand_many(self, messages: Sequence[InboundMessage]) -> list[Understanding]:
        return self._understander.understand_many(messages)

    def decide(
        self,
        state: ConversationState,
        message: InboundMessage,
        understanding: Understanding,
        attributes: Mapping[str, str],
        now: datetime,
    ) -> policy.Outcome:
        """Decided with the brief's copy in the customer's language (`understanding.language`,
        where the brief has it); the decision's detail records the language written in."""
        view = policy.MessageView(
            message.type, message.text, message.reply_id, message.sent_at, attributes
        )
        brief = self.brief.localized(understanding.language)
        outcome = policy.step(state, view, understanding, brief, now, state.dialogue)
        written = brief.reply_language(understanding.language)
        detail = {**outcome.decision.detail, "language": written}
        if understanding.language is not None:
            detail["customer_language"] = understanding.language
        outcome = replace(outcome, decision=replace(outcome.decision, detail=detail))
        pricing = brief.playbooks.pricing
        if self.booking_url is None or pricing is None:
            return outcome
        return policy.with_booking_url(outcome, pricing, self.booking_url(state.id))
