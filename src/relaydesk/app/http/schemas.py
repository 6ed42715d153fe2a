"""API response models (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


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
