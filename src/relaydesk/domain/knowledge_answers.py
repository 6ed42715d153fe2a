"""Level 0: answering from the knowledge base (a pure part of the policy).

Only passages of articles are ever sent, cut at a sentence boundary to the tone guide's
length, with the article's link; when the search is unsure, the top three articles are
offered as a WhatsApp list message and the tapped row is answered."""

from __future__ import annotations

from dataclasses import replace

from relaydesk.brief.schema import Brief
from relaydesk.domain.decision import Action, Decision, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.knowledge import Hit, shorten
from relaydesk.domain.outbound import ListMessage, ListRow, ListSection, Text

ROW_TITLE_MAX = 24  #: WhatsApp list limits (docs/whatsapp-cloud-api.md)
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
OFFERED = 3
MIN_ANSWER = 80  #: characters of passage kept however long the link is


def confident(brief: Brief, understanding: Understanding) -> Hit | None:
    """The best passage when it is sure enough to be the answer."""
    settings = brief.knowledge_base
    if settings is None or not understanding.knowledge:
        return None
    best = understanding.knowledge[0]
    return best if best.probability >= settings.answer_threshold else None


def worth_offering(brief: Brief, understanding: Understanding) -> tuple[Hit, ...]:
    """The top three passages when the best is between the two thresholds (else none)."""
    settings = brief.knowledge_base
    if settings is None or not understanding.knowledge:
        return ()
    best = understanding.knowledge[0].probability
    if not settings.suggest_threshold <= best < settings.answer_threshold:
        return ()
    return tuple(h for h in understanding.knowledge[:OFFERED] if len(h.reply_id) <= ROW_ID_MAX)


def answer_text(brief: Brief, hit: Hit, length: str) -> str:
    """The passage cut to the tone guide's `length`, then the article's link."""
    link = f"\n\n{hit.title}: {hit.url}" if hit.url else ""
    limit = max(getattr(brief.tone.max_chars, length) - len(link), MIN_ANSWER)
    return f"{shorten(hit.text, limit)}{link}"


def answer(
    brief: Brief,
    hit: Hit,
    understanding: Understanding,
    after: DialogueState,
    tapped: bool = False,
) -> tuple[Decision, DialogueState]:
    """Answer with `hit`'s passage (`tapped`: the customer chose it from the list)."""
    length = brief.policy.answer_length
    body = answer_text(brief, hit, length)
    decision = Decision(
        Action.ANSWER,
        brief.version,
        intent=None,  # an unsure guess is not the topic answered
        confidence=hit.probability,
        replies=(Text(body, preview_url=hit.url is not None),),
        detail={
            "reason": "chosen from the article list" if tapped else "knowledge base",
            "length": length,
            "knowledge": hit.as_detail(understanding.knowledge_version),
        },
    )
    tried = f"answered from the article {hit.title!r} ({hit.article}#{hit.passage})"
    dialogue = replace(after.with_reply(body, tried=tried), clarifications=0)
    return decision, dialogue


def offer(
    brief: Brief, hits: tuple[Hit, ...], understanding: Understanding, after: DialogueState
) -> tuple[Decision, DialogueState]:
    """A list message with the likeliest articles (a numbered text version in the body, for
    WhatsApp clients that do not show lists)."""
    settings = brief.knowledge_base
    if settings is None:
        raise ValueError("the brief has no knowledge_base section")
    lines = "\n".join(f"{n}. {hit.title}" for n, hit in enumerate(hits, start=1))
    body = f"{settings.suggest}\n\n{lines}"
    rows = tuple(
        ListRow(
            hit.reply_id, _fit(hit.title, ROW_TITLE_MAX), _fit(_about(hit), ROW_DESCRIPTION_MAX)
        )
        for hit in hits
    )
    reply = ListMessage(body=body, button=settings.list_button, sections=(ListSection("", rows),))
    decision = Decision(
        Action.CLARIFY,
        brief.version,
        intent=understanding.intent,
        confidence=understanding.confidence,
        replies=(reply,),
        detail={
            "reason": "knowledge base: unsure which article",
            "articles": [hit.as_detail(understanding.knowledge_version) for hit in hits],
        },
    )
    dialogue = replace(
        after.with_reply(body, tried="offered help articles"),
        clarifications=after.clarifications + 1,
    )
    return decision, dialogue


def _about(hit: Hit) -> str:
    return hit.heading if hit.heading != hit.title else hit.text


def _fit(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word with "…" when too long."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return f"{cut or text[: limit - 1]}…"
