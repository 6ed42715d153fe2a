"""Ready to launch? The replayed turns scored with the rubric, judged per intent against
the brief's launch gates (`rollout.launch`), and what to fix first.

An intent is ready when the history holds at least `min_samples` of its customer turns and
its accuracy, tone and actionability rates reach the gates; the brief is ready when every
intent seen in the history is, and every conversation that needed a person was escalated.
A rate is the mean score over the scored turns divided by 2 (a score of 1 counts half).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from relaydesk.brief.schema import Brief
from relaydesk.domain import rubric
from relaydesk.domain.history import Labels

NO_INTENT = "(no intent)"
DIMENSIONS = ("accuracy", "tone", "actionability")


@dataclass(frozen=True, slots=True)
class ReplayedTurn:
    """One customer turn of the history and what the brief decided for it."""

    conversation_id: str
    turn: int  #: 1-based position among the conversation's customer turns
    source: str  #: file:line of the customer's message
    text: str
    action: str
    intent: str | None
    confidence: float | None
    triggers: tuple[str, ...]
    replies: tuple[str, ...]  #: what the customer would have read, one entry per message
    buttons: tuple[str, ...]  #: titles of any buttons or list rows offered
    queue: str | None
    priority: str | None
    status_after: str
    language: str | None
    answer_length: str | None  #: the answer's length (short, medium, detailed) if it answered
    labels: Labels | None
    #: the history's own answer to this turn: "agent" (a person), "bot" (the old bot), None
    answered_by: str | None
    history_has_bot: bool  #: the conversation's history has bot turns

    @property
    def escalated(self) -> bool:
        return self.action == "escalate"

    @property
    def replied(self) -> bool:
        return bool(self.replies) or self.escalated


@dataclass(frozen=True, slots=True)
class ScoredTurn:
    turn: ReplayedTurn
    expected: rubric.Expected
    accuracy: rubric.Score | None
    tone: rubric.Score | None  #: None: the bot said nothing at this turn
    actionability: rubric.Score | None
    rated: bool = False  #: the scores are a person's (a ratings file), not the rubric's

    @property
    def intent_key(self) -> str:
        return self.expected.intent or self.turn.intent or NO_INTENT


@dataclass(frozen=True, slots=True)
class IntentVerdict:
    intent: str
    samples: int
    rates: Mapping[str, float | None]  #: accuracy, tone, actionability (None: nothing scored)
    failures: tuple[str, ...]  #: why it is not ready; empty when it is

    @property
    def ready(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class Remedy:
    intent: str
    pattern: str
    count: int  #: turns it affects (the impact the list is ordered by)
    examples: tuple[str, ...]
    fix: str


@dataclass(frozen=True, slots=True)
class Verdict:
    intents: tuple[IntentVerdict, ...]
    missed_escalations: tuple[str, ...]  #: conversation ids that needed a person, never got one
    remedies: tuple[Remedy, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return all(i.ready for i in self.intents) and not self.missed_escalations


def expected_of(turn: ReplayedTurn) -> rubric.Expected:
    labels = turn.labels
    if labels is not None and (labels.needs_human is not None or labels.intent is not None):
        return rubric.Expected(labels.needs_human, labels.intent, labels.queue, "labels")
    if turn.history_has_bot and turn.answered_by is not None:
        return rubric.Expected(turn.answered_by == "agent", None, None, "history")
    return rubric.Expected(None, None, None, "none")


def score(turn: ReplayedTurn, brief: Brief) -> ScoredTurn:
    expected = expected_of(turn)
    bot = rubric.BotTurn(
        customer_text=turn.text,
        escalated=turn.escalated,
        intent=turn.intent,
        queue=turn.queue,
        replies=turn.replies,
        buttons=turn.buttons,
        answer_length=turn.answer_length,
        social=turn.intent in brief.intents and brief.intents[turn.intent].repeatable,
    )
    replied = turn.replied
    return ScoredTurn(
        turn=turn,
        expected=expected,
        accuracy=rubric.accuracy(bot, expected),
        tone=rubric.tone(bot, brief) if replied else None,
        actionability=rubric.actionability(bot) if replied else None,
    )


def judge(scored: Sequence[ScoredTurn], brief: Brief) -> Verdict:
    gates = brief.rollout.launch
    by_intent: dict[str, list[ScoredTurn]] = defaultdict(list)
    for item in scored:
        by_intent[item.intent_key].append(item)
    verdicts = []
    for intent in sorted(by_intent, key=lambda k: (-len(by_intent[k]), k)):
        items = by_intent[intent]
        rates = {d: rate(getattr(i, d) for i in items) for d in DIMENSIONS}
        failures = []
        if len(items) < gates.min_samples:
            failures.append(f"{len(items)} samples, fewer than the {gates.min_samples} needed")
        for dimension in DIMENSIONS:
            value, gate = rates[dimension], getattr(gates, dimension)
            if value is None and dimension == "accuracy":
                failures.append("accuracy not scored: label the turns or replay a bot history")
            elif value is not None and value < gate:
                failures.append(f"{dimension} {value:.0%} below {gate:.0%}")
        verdicts.append(IntentVerdict(intent, len(items), rates, tuple(failures)))
    missed = missed_escalations(scored)
    return Verdict(tuple(verdicts), missed, tuple(remedies(scored, brief, missed)))


def rate(scores: Iterable[rubric.Score | None]) -> float | None:
    values = [s.value for s in scores if s is not None]
    return sum(values) / (2 * len(values)) if values else None


def missed_escalations(scored: Sequence[ScoredTurn]) -> tuple[str, ...]:
    needed: set[str] = set()
    escalated: set[str] = set()
    for item in scored:
        if item.expected.needs_human:
            needed.add(item.turn.conversation_id)
        if item.turn.escalated:
            escalated.add(item.turn.conversation_id)
    return tuple(sorted(needed - escalated))


def remedies(
    scored: Sequence[ScoredTurn], brief: Brief, missed: Sequence[str] = ()
) -> list[Remedy]:
    """What to fix, the one affecting most turns first."""
    found: dict[tuple[str, str], list[ScoredTurn]] = defaultdict(list)
    for item in scored:
        for pattern in _patterns(item):
            found[(item.intent_key, pattern)].append(item)
    result = [
        Remedy(
            intent,
            pattern,
            len(items),
            tuple(dict.fromkeys(i.turn.text for i in items))[:3],
            _fix(intent, pattern, items, brief),
        )
        for (intent, pattern), items in found.items()
    ]
    if missed:
        result.append(
            Remedy(
                "(conversations)",
                "needed a person and was never escalated",
                len(missed),
                tuple(missed[:3]),
                "add a trigger or an escalate policy for what these customers asked",
            )
        )
    return sorted(result, key=lambda r: (-r.count, r.intent, r.pattern))


def _patterns(item: ScoredTurn) -> list[str]:
    patterns = []
    if item.accuracy is not None and item.accuracy.value < 2:
        expected, turn = item.expected, item.turn
        if expected.needs_human and not turn.escalated:
            patterns.append("answered, but a person was needed")
        elif expected.needs_human is False and turn.escalated:
            patterns.append("escalated, but the bot could have answered")
        elif expected.intent is not None and turn.intent != expected.intent:
            patterns.append(f"understood as {turn.intent or 'nothing'}")
        else:
            patterns.append("escalated to the wrong queue")
    acting = item.actionability
    if acting is not None and acting.value < 2:
        patterns.append(f"actionability: {acting.reason}")
    if item.tone is not None and item.tone.value < 2:
        reasons = item.tone.reason.split("; ")
        if acting is not None and acting.value < 2:  # already listed under actionability
            reasons = [r for r in reasons if r != rubric.NO_NEXT_STEP]
        if reasons:
            patterns.append(f"tone: {'; '.join(reasons)}")
    return patterns


def _fix(intent: str, pattern: str, items: Sequence[ScoredTurn], brief: Brief) -> str:
    known = intent in brief.intents
    if pattern.startswith("understood as"):
        return f"add these phrasings to intents.{intent}.examples"
    if pattern == "escalated, but the bot could have answered":
        reasons = Counter(t for i in items for t in i.turn.triggers)
        if reasons:
            top, _ = reasons.most_common(1)[0]
            return f"most were escalated by the {top} trigger: raise its threshold or narrow it"
        lowest = min((i.turn.confidence or 0.0 for i in items), default=0.0)
        if known:
            return (
                f"lower intents.{intent}.confidence_threshold to about {lowest:.2f} "
                "or add examples so the model is surer"
            )
        return "add an intent with answers for these messages"
    if pattern == "answered, but a person was needed":
        target = f"intents.{intent}.policy: escalate" if known else "an escalation trigger"
        return f"set {target}, or add a trigger for what these customers asked"
    if pattern == "escalated to the wrong queue":
        return f"set intents.{intent}.queue to the queue people worked these in"
    if pattern.startswith("tone:"):
        return f"rewrite intents.{intent}.answers (or the handoff copy) against the tone guide"
    if pattern.startswith("actionability:"):
        return f"end intents.{intent}.answers with a link, a question or buttons"
    return "review these turns"


def cluster_unanswered(
    scored: Sequence[ScoredTurn], groups: Mapping[int, int], min_size: int = 3
) -> list[Remedy]:
    """Remedies for clusters of turns the bot understood as nothing: `groups` maps each
    such turn's index in `scored` to a cluster number (computed by the caller from
    embeddings). Clusters smaller than `min_size` are left out."""
    members: dict[int, list[ScoredTurn]] = defaultdict(list)
    for index, cluster in groups.items():
        members[cluster].append(scored[index])
    found = []
    for items in members.values():
        if len(items) < min_size:
            continue
        examples = tuple(dict.fromkeys(i.turn.text for i in items))[:5]
        found.append(
            Remedy(
                NO_INTENT,
                f"a cluster of {len(items)} messages the bot did not understand",
                len(items),
                examples,
                "add a new intent with these as its examples, and answers for it",
            )
        )
    return sorted(found, key=lambda r: -r.count)
