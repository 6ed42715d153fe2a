"""API request and response models (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from relaydesk.domain.desk import FAILURE_TAGS, VERDICTS
from relaydesk.services.agents import MAX_NOTE, MAX_REPLY


class CustomerOut(BaseModel):
    wa_id: str | None
    user_id: str | None
    name: str | None


class AssigneeOut(BaseModel):
    id: int
    email: str
    name: str


class ErrorOut(BaseModel):
    code: int | None
    detail: str | None


class MessageOut(BaseModel):
    id: int
    direction: str
    type: str
    text: str | None
    status: str
    wamid: str | None
    error: ErrorOut | None
    created_at: datetime


class TriggerOut(BaseModel):
    type: str
    detail: str
    score: float
    threshold: float


class DecisionOut(BaseModel):
    message_id: int | None
    action: str
    intent: str | None
    confidence: float | None
    triggers: list[TriggerOut]
    policy_version: str
    detail: dict[str, Any]
    created_at: datetime


class ConversationOut(BaseModel):
    id: int
    customer: CustomerOut
    phone_number_id: str
    status: str
    queue: str | None
    tier: int | None
    priority: str | None
    assignee: AssigneeOut | None
    window_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut]
    decisions: list[DecisionOut]


class ConversationList(BaseModel):
    conversations: list[ConversationOut]


class Problem(BaseModel):
    detail: str


# --- agent actions ---------------------------------------------------------------------


class PresenceIn(BaseModel):
    presence: str = Field(description="online, away or offline")


class ReplyIn(BaseModel):
    text: str = Field(description=f"What the customer reads: 1 to {MAX_REPLY} characters.")
    draft: str | None = Field(
        default=None,
        description="The suggested draft the agent started from (kept for the rewrite rate).",
    )


class TransferIn(BaseModel):
    queue: str | None = Field(default=None, description="A queue of the brief; it waits there.")
    agent_id: int | None = Field(default=None, description="An active person who takes it now.")


class NoteIn(BaseModel):
    body: str = Field(description=f"Internal, never sent: 1 to {MAX_NOTE} characters.")


class FeedbackIn(BaseModel):
    verdict: str = Field(description=f"One of: {', '.join(VERDICTS)}.")
    tags: list[str] = Field(default_factory=list, description=f"Any of: {', '.join(FAILURE_TAGS)}.")


class UserIn(BaseModel):
    email: str
    name: str
    role: str = Field(description="agent, supervisor or admin")
    password: str | None = Field(default=None, description="At least 12 characters.")
    skills: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    capacity: int = Field(default=5, description="Conversations held at once, 0 to 100.")


class UserPatch(BaseModel):
    name: str | None = None
    role: str | None = None
    skills: list[str] | None = None
    languages: list[str] | None = None
    capacity: int | None = None
    active: bool | None = None
    password: str | None = None


class Done(BaseModel):
    status: str


class Created(BaseModel):
    id: int
    status: str


# --- the handoff card ------------------------------------------------------------------


class CardCustomerOut(CustomerOut):
    attributes: dict[str, Any]


class PersonOut(BaseModel):
    id: int
    name: str | None


class CardAssigneeOut(PersonOut):
    email: str | None


class CardTriggerOut(BaseModel):
    type: str
    detail: str
    score: float
    threshold: float
    queue: str | None = None
    priority: str | None = None
    min_tier: int | None = None
    escalates: bool = True


class IntentOut(BaseModel):
    name: str
    title: str
    confidence: float | None
    threshold: float | None


class SentimentOut(BaseModel):
    values: list[float] = Field(description="per customer turn, oldest first; -1 angry .. 1")
    current: float | None
    direction: str = Field(description="worsening, improving, steady or unknown")
    frustration: float | None


class CollectedOut(BaseModel):
    order_numbers: list[str]
    emails: list[str]
    amounts: list[str]
    phones: list[str] = Field(description="masked: only the last three digits show")


class TranscriptMessageOut(MessageOut):
    author: str
    author_role: str = Field(description="customer, bot or agent")


class NoteOut(BaseModel):
    id: int
    author_id: int | None
    author: str | None
    body: str
    created_at: datetime


class FeedbackOut(BaseModel):
    verdict: str
    tags: list[str]
    by: int | None
    at: datetime | None


class CsatOut(BaseModel):
    state: str | None
    rating: int | None
    at: datetime | None


class SlaClockOut(BaseModel):
    clock: str
    state: str
    due_at: datetime | None
    remaining_seconds: int


class SlaOut(BaseModel):
    priority: str
    worst: SlaClockOut
    clocks: list[SlaClockOut]


class CannedOut(BaseModel):
    name: str
    title: str
    text: str = Field(description="with the customer's name and the business filled in")


class HandoffCardOut(BaseModel):
    id: int
    status: str
    queue: str | None
    tier: int | None
    priority: str | None
    language: str | None
    customer: CardCustomerOut
    assignee: CardAssigneeOut | None
    escalated_at: datetime | None
    window_expires_at: datetime | None
    reason: str | None
    triggers: list[CardTriggerOut]
    intent: IntentOut | None
    policy_version: str | None
    sentiment: SentimentOut
    collected: CollectedOut
    transcript: list[TranscriptMessageOut]
    bot_tried: list[str]
    next_step: str
    suggested_reply: str
    canned_responses: list[CannedOut]
    notes: list[NoteOut]
    feedback: FeedbackOut | None
    csat: CsatOut
    sla: SlaOut | None


# --- lists and overviews ---------------------------------------------------------------


class SummaryCustomerOut(BaseModel):
    name: str | None
    wa_id: str | None


class LastMessageOut(BaseModel):
    direction: str
    type: str
    text: str | None
    at: datetime


class ConversationSummaryOut(BaseModel):
    id: int
    customer: SummaryCustomerOut
    status: str
    queue: str | None
    tier: int | None
    priority: str | None
    language: str | None
    assignee: PersonOut | None
    queued_at: datetime | None
    assigned_at: datetime | None
    last_inbound_at: datetime | None
    window_expires_at: datetime | None
    waiting_seconds: int | None
    last_message: LastMessageOut | None
    sla: SlaClockOut | None = Field(description="the clock closest to (or past) its target")
    position: int | None = Field(default=None, description="place in the waiting order")


class ConversationSummaries(BaseModel):
    conversations: list[ConversationSummaryOut]


class QueueOut(BaseModel):
    name: str
    description: str
    tier: int
    depth: int = Field(description="conversations waiting")
    assigned: int = Field(description="conversations people in this queue hold")
    oldest_queued_at: datetime | None
    oldest_wait_seconds: int | None
    at_risk: int = Field(description="open conversations with an SLA warning or breach")
    agents_online: int = Field(description="online people with one of the queue's skills")


class QueueList(BaseModel):
    queues: list[QueueOut]


class AgentLoadOut(BaseModel):
    id: int
    name: str
    email: str
    role: str
    presence: str
    active_conversations: int
    capacity: int
    skills: list[str]
    languages: list[str]
    last_assigned_at: datetime | None


class AgentList(BaseModel):
    agents: list[AgentLoadOut]


class RewriteStatsOut(BaseModel):
    replies_with_draft: int
    rewritten: int
    rewrite_rate: float | None
    mean_edit_distance: float | None


# --- users -----------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    active: bool
    skills: list[str]
    languages: list[str]
    capacity: int
    presence: str
    has_password: bool
    created_at: datetime
    last_assigned_at: datetime | None


class UserList(BaseModel):
    users: list[UserOut]
