"""What the agent console shows beside a handed-off conversation, as pure functions: the
sentiment trend, the collected data, a suggested next step and reply, and how much agents
rewrite the suggested drafts. No I/O; the read models in `services.conversations` feed
them rows."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from relaydesk.domain.routing import base_language

#: Escalation feedback an agent can give, and the failure tags they can add.
VERDICTS = ("needed", "not_needed", "too_late")
FAILURE_TAGS = ("unclear_intent", "repetitive_answer", "weak_follow_up")

#: A drop in sentiment of this much between the first and the last turns is a worsening
#: trend (sentiment runs from -1, angry, to +1, happy).
TREND_STEP = 0.2


@dataclass(frozen=True, slots=True)
class SentimentTrend:
    values: tuple[float, ...]  #: per customer turn, oldest first
    current: float | None
    direction: str  #: worsening | improving | steady | unknown
    frustration: float | None  #: of the latest turn, 0..1


def sentiment_trend(
    turns: Sequence[tuple[float, float]], step: float = TREND_STEP
) -> SentimentTrend:
    """The trend over (sentiment, frustration) turns, oldest first."""
    if not turns:
        return SentimentTrend((), None, "unknown", None)
    values = tuple(round(s, 3) for s, _ in turns)
    change = values[-1] - values[0]
    if len(values) < 2 or abs(change) < step:
        direction = "steady"
    else:
        direction = "worsening" if change < 0 else "improving"
    return SentimentTrend(values, values[-1], direction, round(turns[-1][1], 3))


def mask_phone(phone: str) -> str:
    """A phone number with all but its last three digits hidden: "+34 ••• ••• 789"."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 3:
        return "•" * len(digits)
    return ("+" if phone.strip().startswith("+") else "") + "•" * (len(digits) - 3) + digits[-3:]


#: What to do first, by the trigger that escalated.
_STEPS: Mapping[str, str] = {
    "human_request": "The customer asked for a person: introduce yourself and ask what they need.",
    "policy_matrix": "Only a person may handle this request: deal with it directly.",
    "negative_sentiment": "The customer is upset: acknowledge it before anything else.",
    "frustration": "The customer is frustrated: acknowledge it before anything else.",
    "frustration_trend": "The customer is getting more frustrated: acknowledge it first.",
    "repeated_question": "The customer asked the same thing again: the bot's answer did not "
    "help, so answer the question itself.",
    "low_confidence": "The bot could not understand: ask in one question what they need.",
    "clarification_limit": "A clarifying question did not settle it: ask what they need.",
    "bot_loop": "The bot was repeating itself: do not send its answer again.",
    "unsupported_type": "The customer sent something the bot cannot read: open it in the "
    "transcript.",
    "keyword": "A keyword rule routed it here: check the keyword in the transcript.",
    "customer_attribute": "A customer attribute rule routed it (e.g. a VIP): give priority.",
    "no_answer": "The bot has no approved answer for this: answer it yourself.",
    "draft_rejected": "An agent rejected the bot's draft answer: answer the question yourself.",
    "draft_expired": "Nobody approved the bot's draft answer in time: check it, then answer.",
}


@dataclass(frozen=True, slots=True)
class _Phrases:
    hello: str
    hello_name: str
    thanks: str
    sorry: str
    sorry_again: str
    team: str
    order: str
    topic: str | None  #: None: the intent's title would mix languages; ask instead
    ask: str


#: The suggested first reply, in the customer's language: the seven languages the NLU
#: reads (an agent may speak a language the brief's bot copy does not); anything else gets
#: English. Only English names the topic: an intent's title is written in the brief's
#: language and would mix languages.
_PHRASES: Mapping[str, _Phrases] = {
    "en": _Phrases(
        hello="Hi,",
        hello_name="Hi {name},",
        thanks="thanks for waiting",
        sorry="I'm sorry for the trouble",
        sorry_again="sorry you had to ask again",
        team="This is the {business} team.",
        order="I'm looking into order {order} for you now.",
        topic="I can help you with {topic}.",
        ask="How can I help you?",
    ),
    "es": _Phrases(
        hello="Hola.",
        hello_name="Hola, {name}.",
        thanks="gracias por esperar",
        sorry="siento mucho las molestias",
        sorry_again="perdona que hayas tenido que repetirlo",
        team="Te escribe el equipo de {business}.",
        order="Estoy revisando el pedido {order} ahora mismo.",
        topic=None,
        ask="¿En qué te puedo ayudar?",
    ),
    "pt": _Phrases(
        hello="Olá.",
        hello_name="Olá, {name}.",
        thanks="obrigado por aguardar",
        sorry="lamento muito o transtorno",
        sorry_again="desculpe por ter de perguntar de novo",
        team="Aqui é a equipe da {business}.",
        order="Estou verificando o pedido {order} agora mesmo.",
        topic=None,
        ask="Como posso ajudar?",
    ),
    "fr": _Phrases(
        hello="Bonjour.",
        hello_name="Bonjour {name}.",
        thanks="merci de votre patience",
        sorry="je suis désolé pour ce désagrément",
        sorry_again="désolé que vous ayez dû redemander",
        team="Ici l'équipe {business}.",
        order="Je regarde votre commande {order} tout de suite.",
        topic=None,
        ask="Comment puis-je vous aider ?",
    ),
    "de": _Phrases(
        hello="Hallo.",
        hello_name="Hallo {name}.",
        thanks="danke für Ihre Geduld",
        sorry="es tut mir leid für die Unannehmlichkeiten",
        sorry_again="entschuldigen Sie, dass Sie noch einmal fragen mussten",
        team="Hier schreibt das Team von {business}.",
        order="Ich sehe mir Ihre Bestellung {order} gleich an.",
        topic=None,
        ask="Wie kann ich Ihnen helfen?",
    ),
    "it": _Phrases(
        hello="Ciao.",
        hello_name="Ciao {name}.",
        thanks="grazie per l'attesa",
        sorry="mi dispiace molto per il disagio",
        sorry_again="scusa se hai dovuto chiederlo di nuovo",
        team="Ti scrive il team di {business}.",
        order="Sto controllando subito l'ordine {order}.",
        topic=None,
        ask="Come posso aiutarti?",
    ),
    "id": _Phrases(
        hello="Halo.",
        hello_name="Halo {name}.",
        thanks="terima kasih sudah menunggu",
        sorry="mohon maaf atas ketidaknyamanannya",
        sorry_again="maaf Anda harus bertanya lagi",
        team="Kami dari tim {business}.",
        order="Saya sedang memeriksa pesanan {order} sekarang.",
        topic=None,
        ask="Ada yang bisa saya bantu?",
    ),
}
#: Intents about the conversation itself, not a topic the agent could offer help with
#: ("I can help you with talk to a person" reads oddly).
CONVERSATIONAL_INTENTS = frozenset({"human_request", "greeting", "thanks_goodbye"})
_SORRY = frozenset({"negative_sentiment", "frustration", "frustration_trend"})
_AGAIN = frozenset({"repeated_question", "bot_loop"})


def next_step(
    trigger_types: Sequence[str],
    intent_title: str | None,
    collected: Mapping[str, Sequence[str]],
) -> str:
    """One or two sentences on what the agent should do first."""
    steps = [_STEPS[t] for t in dict.fromkeys(trigger_types) if t in _STEPS][:2]
    if not steps:
        steps.append("Read the transcript and ask what the customer needs.")
    if intent_title:
        steps.append(f"Topic: {intent_title}.")
    orders = collected.get("order_numbers") or ()
    if orders:
        steps.append(f"Look up order {', '.join(orders)} before replying.")
    return " ".join(steps)


def suggested_reply(
    customer_name: str | None,
    business: str,
    trigger_types: Sequence[str],
    intent_title: str | None,
    order_numbers: Sequence[str] = (),
    language: str | None = None,
) -> str:
    """A first reply the agent can send as is or edit: a greeting by name, an
    acknowledgement of why the customer is talking to a person, and an offer to help
    (with their order number when they gave one)."""
    words = _PHRASES.get(base_language(language or "en"), _PHRASES["en"])
    name = (customer_name or "").strip().split(" ")[0]
    greeting = words.hello_name.format(name=name) if name else words.hello
    acknowledgement = next(
        (
            words.sorry if t in _SORRY else words.sorry_again
            for t in trigger_types
            if t in _SORRY or t in _AGAIN
        ),
        words.thanks,
    )
    if greeting.endswith("."):
        acknowledgement = acknowledgement[0].upper() + acknowledgement[1:]
    opening = f"{greeting} {acknowledgement}. {words.team.format(business=business)}"
    if order_numbers:
        offer = words.order.format(order=order_numbers[0])
    elif intent_title and words.topic:
        offer = words.topic.format(topic=intent_title.lower())
    else:
        offer = words.ask
    return f"{opening} {offer}"


def edit_distance(draft: str, final: str) -> float:
    """How much of a draft was changed, 0 (sent as drafted) to 1 (nothing kept):
    1 minus difflib's similarity ratio, on whitespace-normalised text."""
    a, b = " ".join(draft.split()), " ".join(final.split())
    if a == b:
        return 0.0
    return round(1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


@dataclass(frozen=True, slots=True)
class RewriteStats:
    replies_with_draft: int
    rewritten: int  #: replies whose text differs from their draft
    rewrite_rate: float | None  #: rewritten / replies_with_draft
    mean_edit_distance: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "replies_with_draft": self.replies_with_draft,
            "rewritten": self.rewritten,
            "rewrite_rate": self.rewrite_rate,
            "mean_edit_distance": self.mean_edit_distance,
        }


def rewrite_stats(pairs: Iterable[tuple[str, str]]) -> RewriteStats:
    """The rewrite rate over (draft, final text) pairs of agents' replies."""
    distances = [edit_distance(draft, final) for draft, final in pairs]
    if not distances:
        return RewriteStats(0, 0, None, None)
    rewritten = sum(1 for d in distances if d > 0)
    return RewriteStats(
        replies_with_draft=len(distances),
        rewritten=rewritten,
        rewrite_rate=round(rewritten / len(distances), 4),
        mean_edit_distance=round(sum(distances) / len(distances), 4),
    )


def backlog(
    depth: int, oldest_wait: timedelta | None, max_depth: int, max_wait: timedelta
) -> tuple[str, ...]:
    """Why a queue is flagged as a backlog on the supervisors' dashboard (the brief's
    `policy.backlog_alert_depth` and `backlog_alert_wait`): "depth" when more than
    `max_depth` conversations wait, "wait" when the oldest has waited longer than
    `max_wait`; () when neither."""
    reasons = []
    if depth > max_depth:
        reasons.append("depth")
    if oldest_wait is not None and oldest_wait > max_wait:
        reasons.append("wait")
    return tuple(reasons)
