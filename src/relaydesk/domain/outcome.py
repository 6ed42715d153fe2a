"""What the escalation policy returns: a decision, the dialogue state it leaves behind and,
for an escalation, what its handoff message is made of; and what it reads of a message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from relaydesk.domain.decision import Decision
from relaydesk.domain.dialogue import DialogueState


@dataclass(frozen=True, slots=True)
class MessageView:
    """What the policy needs of an inbound message."""

    type: str
    text: str | None
    reply_id: str | None
    sent_at: datetime
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HandoffDraft:
    """What an escalation's handoff message is made of, so that the service can word the
    wait from the live queue (`with_wait`) without deciding again."""

    queue: str
    priority: str
    preface: tuple[str, ...]  #: said before the handoff copy (the frustrated playbook)
    dialogue: DialogueState  #: the dialogue before the handoff message
    language: str | None = None  #: the customer's language, when the message showed it


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision and the dialogue state it leaves behind."""

    decision: Decision
    dialogue: DialogueState
    handoff: HandoffDraft | None = None  #: set when the decision escalates
