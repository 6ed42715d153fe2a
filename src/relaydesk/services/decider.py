"""Understanding + policy behind the one decision interface the inbound path calls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from relaydesk.brief.matching import ExampleMatcher
from relaydesk.brief.schema import Brief
from relaydesk.domain import policy
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import ConversationState
from relaydesk.domain.decision import Understanding


class BriefDecider:
    """Nearest approved example (TF-IDF) for understanding; `domain.policy` decides."""

    def __init__(self, brief: Brief, matcher: ExampleMatcher | None = None) -> None:
        self.brief = brief
        self._matcher = matcher or ExampleMatcher.from_brief(brief)
        self._button_intents = {
            button.reply_id: button.intent
            for intent in brief.intents.values()
            if intent.next_action is not None
            for button in intent.next_action.buttons
            if button.intent is not None
        }

    def understand(self, message: InboundMessage) -> Understanding:
        if message.reply_id is not None and message.reply_id in self._button_intents:
            return Understanding(self._button_intents[message.reply_id], 1.0, "button")
        if message.reply_id is not None and message.reply_id in self.brief.intents:
            return Understanding(message.reply_id, 1.0, "button")
        if not message.text:
            return Understanding(None, 0.0)
        ranked = self._matcher.rank(message.text, limit=3)
        if not ranked:
            return Understanding(None, 0.0)
        best = ranked[0]
        return Understanding(
            best.intent,
            best.score,
            best.example,
            ranking=tuple((m.intent, m.score) for m in ranked),
        )

    def decide(
        self,
        state: ConversationState,
        message: InboundMessage,
        attributes: Mapping[str, str],
        now: datetime,
    ) -> policy.Outcome:
        view = policy.MessageView(
            message.type, message.text, message.reply_id, message.sent_at, attributes
        )
        understanding = (
            self.understand(message)
            if message.type in policy.READABLE
            else Understanding(None, 0.0)
        )
        return policy.step(state, view, understanding, self.brief, now, state.dialogue)
