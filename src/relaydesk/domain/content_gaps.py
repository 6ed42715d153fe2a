"""Content gaps: what customers asked that the bot could not answer, grouped by meaning
into candidate intents for the brief. Pure: the caller clusters (embeddings) and passes a
cluster number per message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Clusters smaller than this are left out: too few messages to suggest an intent.
MIN_GAP = 3
EXAMPLES = 10


@dataclass(frozen=True, slots=True)
class Gap:
    name: str  #: a candidate intent name, from the cluster's most frequent words
    count: int  #: messages in the cluster
    reasons: dict[str, int]  #: out_of_scope | clarified | low_confidence -> messages
    examples: tuple[str, ...]  #: distinct texts, most frequent first
    conversation_ids: tuple[int, ...]


_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset(
    "the and you your for with can how what when where why are was this that have has not "
    "but from about please thanks thank hello there que por para con los las una del".split()
)


def gaps(
    texts: Sequence[str],
    reasons: Sequence[str],
    conversation_ids: Sequence[int],
    labels: Sequence[int],
    min_size: int = MIN_GAP,
) -> list[Gap]:
    """One gap per cluster of at least `min_size` messages, largest first."""
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    found = []
    taken: set[str] = set()
    for indexes in sorted(members.values(), key=lambda ix: (-len(ix), ix[0])):
        if len(indexes) < min_size:
            continue
        counts: dict[str, int] = {}
        for i in indexes:
            counts[texts[i]] = counts.get(texts[i], 0) + 1
        examples = tuple(sorted(counts, key=lambda t: (-counts[t], t)))[:EXAMPLES]
        why: dict[str, int] = {}
        for i in indexes:
            why[reasons[i]] = why.get(reasons[i], 0) + 1
        name = candidate_name([texts[i] for i in indexes], taken)
        taken.add(name)
        found.append(
            Gap(
                name,
                len(indexes),
                dict(sorted(why.items())),
                examples,
                tuple(dict.fromkeys(conversation_ids[i] for i in indexes)),
            )
        )
    return found


def candidate_name(texts: Sequence[str], taken: set[str]) -> str:
    """`gap_` and the two words most messages of the cluster share ("gap_gift_card")."""
    seen: dict[str, int] = {}
    for text in texts:
        for word in {w.lower() for w in _WORD.findall(text)} - _STOP:
            seen[word] = seen.get(word, 0) + 1
    top = sorted(seen, key=lambda w: (-seen[w], w))[:2]
    base = "gap_" + ("_".join(top) if top else "unnamed")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name
