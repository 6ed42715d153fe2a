"""What the bot remembers of a conversation between messages: recent turns, streaks and
what it already said. A pure value, advanced once per decision and stored as JSON."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

MAX_TURNS = 8
MAX_REPLIES = 6


@dataclass(frozen=True, slots=True)
class Turn:
    """One customer message as the bot understood it."""

    text: str
    intent: str | None
    confidence: float
    sentiment: float = 0.0
    frustration: float = 0.0


@dataclass(frozen=True, slots=True)
class DialogueState:
    turns: tuple[Turn, ...] = ()  #: the last customer turns, oldest first
    low_confidence_streak: int = 0  #: messages in a row the bot could not understand
    clarifications: int = 0  #: clarifying questions in a row
    bot_replies: tuple[str, ...] = ()  #: fingerprints of the bot's last replies
    last_answer_intent: str | None = None
    tried: tuple[str, ...] = field(default=())  #: what the bot already tried, for the handoff

    def as_json(self) -> dict[str, Any]:
        return {
            "turns": [
                [
                    t.text,
                    t.intent,
                    round(t.confidence, 4),
                    round(t.sentiment, 4),
                    round(t.frustration, 4),
                ]
                for t in self.turns
            ],
            "low_confidence_streak": self.low_confidence_streak,
            "clarifications": self.clarifications,
            "bot_replies": list(self.bot_replies),
            "last_answer_intent": self.last_answer_intent,
            "tried": list(self.tried),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        return cls(
            turns=tuple(Turn(*row) for row in data.get("turns", ())),
            low_confidence_streak=int(data.get("low_confidence_streak", 0)),
            clarifications=int(data.get("clarifications", 0)),
            bot_replies=tuple(data.get("bot_replies", ())),
            last_answer_intent=data.get("last_answer_intent"),
            tried=tuple(data.get("tried", ())),
        )

    def with_turn(self, turn: Turn) -> DialogueState:
        return replace(self, turns=(*self.turns, turn)[-MAX_TURNS:])

    def with_reply(self, body: str, tried: str | None = None) -> DialogueState:
        replies = (*self.bot_replies, fingerprint(body))[-MAX_REPLIES:]
        done = self.tried if tried is None else (*self.tried, tried)[-MAX_REPLIES:]
        return replace(self, bot_replies=replies, tried=done)

    def repeats_of(self, body: str) -> int:
        """How often the bot already sent this reply (the loop detector's count)."""
        return self.bot_replies.count(fingerprint(body))


def fingerprint(body: str) -> str:
    return hashlib.sha1(normalise(body).encode(), usedforsecurity=False).hexdigest()[:12]


_SPACE = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Lowercase, accents folded, punctuation to single spaces."""
    lowered = text.lower()
    if not lowered.isascii():
        folded = unicodedata.normalize("NFKD", lowered)
        lowered = "".join(c for c in folded if not unicodedata.combining(c))
    return _SPACE.sub(" ", lowered).strip()


def _trigrams(text: str) -> Counter[str]:
    padded = f" {normalise(text)} "
    return Counter(padded[i : i + 3] for i in range(max(len(padded) - 2, 0)))


def similarity(a: str, b: str) -> float:
    """Cosine similarity of character trigram counts: 1 for the same words, robust to
    typos, casing and accents; cheap enough for every message."""
    x, y = _trigrams(a), _trigrams(b)
    if not x or not y:
        return 0.0
    dot = sum(count * y[gram] for gram, count in x.items() if gram in y)
    norm = math.sqrt(sum(v * v for v in x.values())) * math.sqrt(sum(v * v for v in y.values()))
    return dot / norm if norm else 0.0
