"""API request and response models (they make the OpenAPI schema), and the two checked
types every entry point uses for what people send: `Text` and `Id`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import AfterValidator, BaseModel, Field, ValidationInfo

from relaydesk.domain.desk import FAILURE_TAGS, VERDICTS
from relaydesk.services.agents import MAX_NOTE, MAX_REPLY

#: The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def check_text(value: str, field: str | None = None) -> str:
    """`value` unchanged if both databases can store it; a ValueError naming the field,
    the character and the fix for a NUL or a lone surrogate (half of a cut emoji)."""
    field = f"{field} " if field else ""
    for position, char in enumerate(value):
        if char == "\x00":
            raise ValueError(
                f"{field}has a NUL character (U+0000) at position {position}; remove it"
            )
        if "\ud800" <= char <= "\udfff":
            raise ValueError(
                f"{field}has a lone surrogate (U+{ord(char):04X}, half of an emoji) at "
                f"position {position}; send the whole character as valid UTF-8"
            )
    return value


def _check_field(value: str, info: ValidationInfo) -> str:
    return check_text(value, info.field_name)


#: Free text from a person: anything but NUL and lone surrogates.
Text = Annotated[str, AfterValidator(_check_field)]
#: A row id: 1 to MAX_ID. A path id outside that names nothing (404); a body field, 422.
Id = Annotated[int, Ge(1), Le(MAX_ID)]


class CustomerOut(BaseModel):
    id: int | None = None  #: what `customers export|erase` and /api/v1/customers/{id} take
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
    reason: str | None = None  #: the code's short name, when Relaydesk knows the code


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
    messages: list[MessageOut] = Field(description="the newest messages, oldest first")
    messages_next: str | None = Field(description="the older messages; null when none")
    decisions: list[DecisionOut] = Field(description="the newest decisions, oldest first")
    decisions_next: str | None = Field(description="the older decisions; null when none")


class ConversationList(BaseModel):
    conversations: list[ConversationOut]
    next: str | None = Field(description="the next page; null on the last")


class MessagePage(BaseModel):
    messages: list[MessageOut] = Field(description="oldest first")
    next: str | None = Field(description="the page before this one; null on the first")


class DecisionPage(BaseModel):
    decisions: list[DecisionOut] = Field(description="oldest first")
    next: str | None = Field(description="the page before this one; null on the first")


class Problem(BaseModel):
    detail: str


# --- agent actions ---------------------------------------------------------------------


class PresenceIn(BaseModel):
    presence: Text = Field(description="online, away or offline")


class ReplyIn(BaseModel):
    text: Text = Field(description=f"What the customer reads: 1 to {MAX_REPLY} characters.")
    draft: Text | None = Field(
        default=None,
        description="The suggested draft the agent started from (kept for the rewrite rate).",
    )


class TransferIn(BaseModel):
    queue: Text | None = Field(default=None, description="A queue of the brief; it waits there.")
    agent_id: Id | None = Field(default=None, description="An active person who takes it now.")


class NoteIn(BaseModel):
    body: Text = Field(description=f"Internal, never sent: 1 to {MAX_NOTE} characters.")


class FeedbackIn(BaseModel):
    verdict: Text = Field(description=f"One of: {', '.join(VERDICTS)}.")
    tags: list[Text] = Field(
        default_factory=list, description=f"Any of: {', '.join(FAILURE_TAGS)}."
    )


class UserIn(BaseModel):
    email: Text
    name: Text
    role: Text = Field(description="agent, supervisor or admin")
    password: Text | None = Field(default=None, description="At least 12 characters.")
    skills: list[Text] = Field(default_factory=list)
    languages: list[Text] = Field(default_factory=list)
    capacity: int = Field(default=5, description="Conversations held at once, 0 to 100.")


class UserPatch(BaseModel):
    name: Text | None = None
    role: Text | None = None
    skills: list[Text] | None = None
    languages: list[Text] | None = None
    capacity: int | None = None
    active: bool | None = None
    password: Text | None = None


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
    transcript: list[TranscriptMessageOut] = Field(description="the newest messages, oldest first")
    transcript_next: str | None = Field(description="the older messages; null when none")
    bot_tried: list[str]
    next_step: str
    suggested_reply: str
    suggested_reply_source: Literal["bot_draft", "greeting"] = Field(
        description="bot_draft: the bot's own answer it drafted (draft mode) and did not "
        "send; greeting: a generic first reply"
    )
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
    next: str | None = Field(description="the next page; null on the last")


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
    backlog: bool = Field(
        description="more wait than the brief's policy.backlog_alert_depth, or the oldest "
        "has waited longer than policy.backlog_alert_wait"
    )
    backlog_reasons: list[str] = Field(
        description="why it is a backlog: depth, wait (empty when it is not)"
    )


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


class ReplayProgressOut(BaseModel):
    done: int = Field(description="Customer turns replayed so far.")
    total: int | None = Field(description="Customer turns in the history; null until read.")


class ReplayLinksOut(BaseModel):
    self: str
    report: str | None = Field(description="The report as JSON; null until the replay is done.")
    report_html: str | None = Field(description="The report as one self-contained HTML page.")


class ReplayOut(BaseModel):
    id: int
    state: Literal["queued", "running", "done", "failed"]
    file_name: str
    format: Literal["jsonl", "csv", "txt"]
    size_bytes: int
    business_name: str | None
    timezone: str = Field(description="Times written without a zone are read in this one.")
    date_order: Literal["dmy", "mdy"] | None
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ReplayProgressOut
    conversations: int | None
    ready: bool | None = Field(description="The verdict once done: ready to launch or not.")
    brief_version: str | None = Field(description="The brief it was replayed through.")
    problems: list[str] = Field(
        description="Why it failed: each problem of the history file as `file:line: what is "
        "wrong` (the first 200)."
    )
    links: ReplayLinksOut


class ReplayList(BaseModel):
    replays: list[ReplayOut]
