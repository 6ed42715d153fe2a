"""Past conversations, as read from history files, for replaying them through a brief.

A `History` is what the readers in `adapters/history/` make of a business's past chats:
conversations of turns (who wrote what, when, in UTC), each turn pointing back at the
`file:line` it came from. A customer turn may carry the labels a person gave it (the
intent, whether it needed a person, the queue and priority it should have gone to), so a
replay can be scored against them.

Pure values: nothing here reads files or the clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from relaydesk.brief.schema import Priority
from relaydesk.domain.calendar import aware_utc

Author = Literal["customer", "bot", "agent"]
AUTHORS: tuple[Author, ...] = ("customer", "bot", "agent")


class HistoryError(ValueError):
    """History files cannot be used. `problems` lists every problem found, each one
    `file:line: what is wrong` (file-level problems have no line), in file order."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, slots=True)
class Labels:
    """What a person said a customer message was; None where they did not say."""

    intent: str | None = None
    needs_human: bool | None = None  #: should this message have gone to a person?
    queue: str | None = None
    priority: Priority | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a past conversation."""

    conversation_id: str
    at: datetime  #: when it was sent, timezone-aware, stored as UTC
    author: Author  #: the customer, the business's bot, or a person at the business
    text: str  #: the caption for media, "" for media without one
    labels: Labels | None = None  #: customer turns only; None (or all None): not labelled
    source: str = ""  #: where it was read, "file:line" (the line the message starts on)
    media: bool = False  #: a photo, video, voice note, sticker or document

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", aware_utc(f"{self.source or 'turn'}: at", self.at))
        if self.labels == Labels():
            object.__setattr__(self, "labels", None)
        if self.author not in AUTHORS:
            raise ValueError(f"{self.source}: author {self.author!r} is not one of {AUTHORS}")
        if self.labels is not None and self.author != "customer":
            raise ValueError(f"{self.source}: labels belong on customer turns only")


@dataclass(frozen=True, slots=True)
class HistoryConversation:
    """One conversation's turns, by time; turns with equal times keep the order given."""

    id: str
    turns: tuple[Turn, ...]

    def __post_init__(self) -> None:
        if not self.turns:
            raise ValueError(f"conversation {self.id!r} has no turns")
        strangers = {t.conversation_id for t in self.turns} - {self.id}
        if strangers:
            raise ValueError(f"conversation {self.id!r} holds turns of {sorted(strangers)}")
        object.__setattr__(self, "turns", tuple(sorted(self.turns, key=lambda t: t.at)))

    @property
    def customer_turns(self) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.author == "customer")

    @property
    def started_at(self) -> datetime:
        return self.turns[0].at

    @property
    def ended_at(self) -> datetime:
        return self.turns[-1].at


@dataclass(frozen=True, slots=True)
class History:
    """Conversations in the order their files were given (within a file, in the order
    each first appears), with notes about how the files were read."""

    conversations: tuple[HistoryConversation, ...]
    #: how something was read that the caller may want to check, "file: what was assumed"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        counts = Counter(c.id for c in self.conversations)
        doubled = sorted(i for i, n in counts.items() if n > 1)
        if doubled:
            raise ValueError(f"conversation ids {doubled} appear more than once")

    @property
    def conversation_count(self) -> int:
        return len(self.conversations)

    @property
    def turn_count(self) -> int:
        return sum(len(c.turns) for c in self.conversations)

    @property
    def customer_turn_count(self) -> int:
        return sum(len(c.customer_turns) for c in self.conversations)

    @property
    def labelled_turn_count(self) -> int:
        """Customer turns that carry at least one label."""
        return sum(1 for c in self.conversations for t in c.turns if t.labels is not None)


def group_turns(turns: Iterable[Turn]) -> tuple[HistoryConversation, ...]:
    """Gather turns into conversations by `conversation_id`, in order of first appearance."""
    grouped: defaultdict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        grouped[turn.conversation_id].append(turn)
    return tuple(HistoryConversation(cid, tuple(ts)) for cid, ts in grouped.items())
