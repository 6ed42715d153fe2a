"""The pre-launch check as a use case: replay a history through a brief, score every bot
turn with the rubric (or a person's ratings), judge per intent, and cluster what the bot
did not understand into candidate intents."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import structlog

from relaydesk.brief.schema import Brief
from relaydesk.domain import launch, rubric
from relaydesk.domain.history import History
from relaydesk.services.decisions import DecisionMaker
from relaydesk.services.replay import replay

log = structlog.get_logger(__name__)

#: Messages the bot did not understand are clustered when their embeddings are at least
#: this alike (cosine); a cluster of `MIN_CLUSTER` or more suggests a new intent.
CLUSTER_SIMILARITY = 0.6
MIN_CLUSTER = 3
#: At most this many not-understood messages are clustered (the clustering is quadratic);
#: the newest are kept.
MAX_CLUSTERED = 3000

Ratings = Mapping[tuple[str, int], Mapping[str, int]]  #: (conversation, turn) -> scores
Encode = Callable[[Sequence[str]], Any]  #: texts -> L2-normalised vectors (rows)


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far the rubric agrees with people on the turns they rated."""

    dimension: str
    rated: int
    kappa: float | None
    same: float  #: share of turns scored exactly alike


@dataclass(frozen=True, slots=True)
class LaunchReport:
    brief_version: str
    conversations: int
    customer_turns: int
    scored: tuple[launch.ScoredTurn, ...]
    verdict: launch.Verdict
    agreement: tuple[Agreement, ...]

    @property
    def ready(self) -> bool:
        return self.verdict.ready


def check(
    history: History,
    brief: Brief,
    decider: DecisionMaker,
    *,
    ratings: Ratings | None = None,
    encode: Encode | None = None,
    backlog_max_age: timedelta | None = None,
    progress: Callable[[int], None] = lambda done: None,
) -> LaunchReport:
    turns = replay(history, decider, backlog_max_age=backlog_max_age, progress=progress)
    automatic = [launch.score(turn, brief) for turn in turns]
    agreement: tuple[Agreement, ...] = ()
    scored = automatic
    if ratings:
        agreement = agree(automatic, ratings)
        scored = [rated(item, ratings) for item in automatic]
    verdict = launch.judge(scored, brief)
    if encode is not None:
        clusters = cluster_unanswered(scored, encode)
        remedies = sorted((*verdict.remedies, *clusters), key=lambda r: (-r.count, r.intent))
        verdict = replace(verdict, remedies=tuple(remedies))
    return LaunchReport(
        brief_version=brief.version,
        conversations=len(history.conversations),
        customer_turns=len(turns),
        scored=tuple(scored),
        verdict=verdict,
        agreement=agreement,
    )


def rated(item: launch.ScoredTurn, ratings: Ratings) -> launch.ScoredTurn:
    """`item` with a person's scores where they rated it (they override the rubric)."""
    given = ratings.get((item.turn.conversation_id, item.turn.turn))
    if not given:
        return item
    person = {d: rubric.Score(v, "rated by a person") for d, v in given.items()}
    return replace(
        item,
        accuracy=person.get("accuracy", item.accuracy),
        tone=person.get("tone", item.tone),
        actionability=person.get("actionability", item.actionability),
        rated=True,
    )


def agree(automatic: Sequence[launch.ScoredTurn], ratings: Ratings) -> tuple[Agreement, ...]:
    result = []
    for dimension in launch.DIMENSIONS:
        ours: list[int] = []
        theirs: list[int] = []
        for item in automatic:
            given = ratings.get((item.turn.conversation_id, item.turn.turn), {})
            mine: rubric.Score | None = getattr(item, dimension)
            if dimension in given and mine is not None:
                ours.append(mine.value)
                theirs.append(given[dimension])
        same = sum(a == b for a, b in zip(ours, theirs, strict=True)) / len(ours) if ours else 0.0
        result.append(Agreement(dimension, len(ours), rubric.cohen_kappa(ours, theirs), same))
    return tuple(result)


def cluster_unanswered(scored: Sequence[launch.ScoredTurn], encode: Encode) -> list[launch.Remedy]:
    """Group the customer turns the bot did not answer by meaning (average-linkage
    clustering of their sentence embeddings) into candidate new intents."""
    indexes = [i for i, item in enumerate(scored) if _unanswered(item)]
    indexes = indexes[-MAX_CLUSTERED:]
    if len(indexes) < MIN_CLUSTER:
        return []
    labels = cluster_labels([scored[i].turn.text for i in indexes], encode)
    groups = dict(zip(indexes, labels, strict=True))
    return launch.cluster_unanswered(scored, groups, MIN_CLUSTER)


def cluster_labels(texts: Sequence[str], encode: Encode) -> list[int]:
    """A cluster number per text: average-linkage clustering of their embeddings, texts
    at least `CLUSTER_SIMILARITY` alike (cosine) together."""
    if len(texts) < 2:
        return [0] * len(texts)
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="cosine",
        linkage="average",
        distance_threshold=1.0 - CLUSTER_SIMILARITY,
    ).fit_predict(encode(texts))
    return [int(label) for label in labels]


def _unanswered(item: launch.ScoredTurn) -> bool:
    """A turn the bot did not answer from an intent that fits it: understood as nothing,
    only a clarifying question, or an answer to a message people gave no brief intent and
    the bot got wrong. Turns the bot handled as expected are left out."""
    turn = item.turn
    if turn.escalated or not turn.text.strip():
        return False
    if item.accuracy is not None and item.accuracy.value == 2:
        return False
    return turn.intent is None or turn.action == "clarify" or item.expected.intent is None
