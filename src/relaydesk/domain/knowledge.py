"""The knowledge base's articles and passages, what a search found, and how a passage is
cut to length: pure values and functions (the files are read by
`relaydesk.adapters.knowledge_base`, the search is `relaydesk.nlu.knowledge`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: reply ids of the list rows the bot offers: "kb:<article id>#<passage index>"
REPLY_PREFIX = "kb:"
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


@dataclass(frozen=True, slots=True)
class Passage:
    """One section of an article (a `##` heading and its paragraphs, or a paragraph)."""

    article: str  #: the article's id (its file name without `.md`)
    index: int  #: position in the article, from 0
    heading: str  #: the section's heading, or the article's title
    text: str  #: what the bot may send, exactly as written in the article


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    url: str | None
    language: str | None
    tags: tuple[str, ...]
    passages: tuple[Passage, ...]
    path: str  #: the file it was read from


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage a search found, with the calibrated probability that its article answers
    the message."""

    article: str
    title: str
    url: str | None
    passage: int
    heading: str
    text: str
    probability: float

    @property
    def reply_id(self) -> str:
        return f"{REPLY_PREFIX}{self.article}#{self.passage}"

    def as_detail(self, version: str) -> dict[str, Any]:
        """What a decision records of the passage it used."""
        return {
            "article": self.article,
            "title": self.title,
            "passage": self.passage,
            "heading": self.heading,
            "url": self.url,
            "probability": round(self.probability, 4),
            "kb_version": version,
        }


def topic_of(article_id: str) -> str:
    """The topic an article is a language variant of: its file name (`es/returns` ->
    `returns`)."""
    return article_id.rsplit("/", 1)[-1]


def parse_reply_id(reply_id: str | None) -> tuple[str, int] | None:
    """The (article id, passage index) a list row's reply id names, or None."""
    if not reply_id or not reply_id.startswith(REPLY_PREFIX) or "#" not in reply_id:
        return None
    article, _, index = reply_id[len(REPLY_PREFIX) :].rpartition("#")
    return (article, int(index)) if article and index.isdigit() else None


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a sentence boundary (whole sentences
    only; a first sentence longer than `limit` is cut at a word and ends with "…")."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept = ""
    for match in _SENTENCE_END.finditer(text):
        candidate = text[: match.start()].rstrip()
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    cut = text[: max(limit - 1, 1)].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut}…"
