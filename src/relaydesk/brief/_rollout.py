"""The brief's sections on who owns it, what it aims for and how it is rolled out: the
owners, the KPI targets, the launch and rollout gates, the segment and the rollout's
starting point (docs/rollout.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from relaydesk.brief._model import _Model
from relaydesk.brief._types import (
    LOCALIZED,
    Duration,
    Name,
    Probability,
    Text,
    brief_error,
    did_you_mean,
)


class Owners(_Model):
    brief: Text = Field(description="who approves changes to this brief")
    answers: str = ""
    routing: str = ""
    escalation: str = ""
    reporting: str = ""


class KpiTargets(_Model):
    first_response_p90: Duration = timedelta(minutes=2)
    resolution_p90: Duration = timedelta(hours=24)
    acceptance_rate: Probability = 0.8
    deflection_rate: Probability = 0.5
    escalation_precision: Probability = 0.8
    escalation_recall: Probability = 0.95
    csat: Annotated[float, Field(ge=1.0, le=5.0)] = 4.5


class RolloutGates(_Model):
    """What promotion asks of live figures and what rolls a change back (docs/rollout.md)."""

    acceptance_rate: Probability = 0.8
    min_lift: float = 0.0
    min_conversations: Annotated[int, Field(ge=0)] = 200
    min_drafts: Annotated[int, Field(ge=1)] = Field(
        default=30, description="an intent's drafts handled before its acceptance counts"
    )
    escalation_precision: Probability = Field(
        default=0.8, description="share of the pilot's escalations agents marked needed"
    )
    min_feedback: Annotated[int, Field(ge=1)] = Field(
        default=20, description="agents' verdicts before escalation precision counts"
    )
    resolution_target: Duration = Field(
        default=timedelta(hours=24), description="a conversation resolved within this counts"
    )
    max_csat_drop: Probability = Field(
        default=0.1, description="pilot's satisfied share below the baseline's by more: rollback"
    )
    max_send_error_rate: Probability = Field(
        default=0.05, description="share of the pilot's sends failing above this: rollback"
    )
    min_sends: Annotated[int, Field(ge=1)] = Field(
        default=50, description="sends before the send-error rate counts"
    )


class RolloutSegment(_Model):
    """Which customers the bot serves besides `traffic_percent`: each non-empty list must
    match the conversation's first message (an empty list matches everyone)."""

    sources: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="click-to-WhatsApp referral source_id (ad or post id)"
    )
    campaigns: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="utm_campaign of the referral's source_url"
    )
    business_numbers: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, description="the business phone_number_id written to"
    )
    intents: list[Name] = Field(
        default_factory=list, description="the intent of the conversation's first message"
    )


class LaunchGates(_Model):
    """What the pre-launch replay (`relaydesk replay`) asks of each intent."""

    min_samples: Annotated[int, Field(ge=1)] = Field(
        default=50, description="customer turns of an intent the history must hold"
    )
    accuracy: Probability = 0.9
    tone: Probability = 0.95
    actionability: Probability = 0.9


class Rollout(_Model):
    """The rollout's starting point and rules. Phase, segment and intents' modes are read
    from here once, when the database has no rollout yet; afterwards they change only by
    `relaydesk rollout`, the console or the gates (docs/rollout.md)."""

    launch: LaunchGates = Field(default_factory=LaunchGates)
    phase: Name = "pilot"
    traffic_percent: Annotated[int, Field(ge=0, le=100)] = 100
    pilot_window: Duration = timedelta(days=14)
    draft_intents: list[Name] = Field(default_factory=list)
    gates: RolloutGates = Field(default_factory=RolloutGates)
    phases: list[Name] = Field(
        default_factory=lambda: ["pilot", "expand", "scale"],
        min_length=1,
        description="the phases' names, in order",
    )
    traffic_steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=lambda: [5, 20, 50, 100],
        min_length=1,
        description="percentages the segment widens and shrinks through",
    )
    segment: RolloutSegment = Field(default_factory=RolloutSegment)
    off_intents: list[Name] = Field(
        default_factory=list, description="intents the bot never answers (handed to people)"
    )
    fallback: Literal["handoff", "greeting"] = Field(
        default="handoff",
        description="outside the segment: handoff (straight to people) or greeting (the "
        "`greeting` copy, then the handoff message)",
    )
    greeting: Annotated[Text, LOCALIZED] | None = None
    auto_promote: bool = Field(
        default=False, description="promote and widen by the gates, without a person"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Rollout:
        if self.phase not in self.phases:
            raise brief_error(
                "rollout_phase",
                f"phase {self.phase!r} is not one of phases ({', '.join(self.phases)}); "
                f"name it in `phases` or pick one of them.{did_you_mean(self.phase, self.phases)}",
            )
        if self.traffic_steps != sorted(set(self.traffic_steps)):
            raise brief_error(
                "rollout_steps",
                f"traffic_steps {self.traffic_steps} must rise, each step once "
                "(like [5, 20, 50, 100]).",
            )
        if self.fallback == "greeting" and self.greeting is None:
            raise brief_error(
                "rollout_greeting",
                "fallback is greeting but there is no `greeting`: write the greeting "
                "customers outside the segment get before the handoff message, or use "
                "fallback: handoff.",
            )
        both = sorted(set(self.off_intents) & set(self.draft_intents))
        if both:
            raise brief_error(
                "rollout_modes",
                f"{', '.join(both)} in both off_intents and draft_intents; an intent has "
                "one mode: keep it in one list.",
            )
        return self

    draft_timeout: Duration = Field(
        default=timedelta(minutes=15),
        description="a bot draft nobody approved or rejected within this is escalated to "
        "people like any other conversation",
    )
