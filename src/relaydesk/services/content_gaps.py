"""Content gaps of a period: the messages the bot could not answer (out of scope,
clarified, escalated because it did not understand), clustered with sentence embeddings
(MiniLM when installed, as the pre-launch replay does; TF-IDF vectors otherwise), with
counts and examples, and exported as candidate intents for the brief."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from relaydesk.adapters.storage import metrics as store
from relaydesk.adapters.storage.db import Database
from relaydesk.domain.content_gaps import Gap, gaps
from relaydesk.services.launch_check import MAX_CLUSTERED, Encode, cluster_labels

__all__ = ["Gap", "as_yaml", "default_encoder", "find"]


def default_encoder() -> tuple[Encode, str]:
    """MiniLM when its files are on the machine, else TF-IDF; and which one it is."""
    from relaydesk.nlu import minilm

    encoder = minilm.load_default()
    if encoder is not None:
        return encoder.encode, "MiniLM sentence embeddings"
    return _tfidf, "TF-IDF vectors (MiniLM is not installed)"


def _tfidf(texts: Sequence[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts).toarray()


def find(
    db: Database,
    start: datetime,
    end: datetime,
    encode: Callable[[Sequence[str]], Any],
) -> tuple[list[Gap], int]:
    """The gaps of `[start, end)` (at most the newest `MAX_CLUSTERED` messages are
    clustered) and how many unanswered messages there were to cluster."""
    with db.read() as conn:
        found = store.unanswered(conn, start, end, MAX_CLUSTERED)
    if not found:
        return [], 0
    texts = [u.text for u in found]
    labels = cluster_labels(texts, encode)
    return gaps(texts, [u.reason for u in found], [u.conversation_id for u in found], labels), len(
        found
    )


def as_yaml(found: Sequence[Gap], period: str) -> str:
    """Candidate intents for the brief: each gap's name, count and example messages, to
    review and complete (a title, a description and answers) before pasting under
    `intents:`."""
    doc = {
        "candidate_intents": {
            g.name: {"messages": g.count, "why": g.reasons, "examples": list(g.examples)}
            for g in found
        }
    }
    header = (
        f"# Content gaps {period}: messages the bot could not answer, grouped by meaning.\n"
        "# Each candidate needs a title, a description and answers before it goes under\n"
        "# `intents:` in the brief; its examples train the classifier.\n"
    )
    from ruamel.yaml import YAML

    out = io.StringIO()
    writer = YAML(typ="safe", pure=True)
    writer.default_flow_style = False
    writer.allow_unicode = True
    writer.dump(doc, out)
    return header + out.getvalue()
