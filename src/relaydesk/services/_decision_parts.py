"""The decision stage's parts that read or write one message's surroundings: the
decision contexts of a transaction's messages, read a few at a time; the customer's
language settled by a message; an answer held as a draft for approval."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import customers as customers_store
from relaydesk.adapters.storage import drafts as drafts_store
from relaydesk.adapters.storage import pending as store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.whatsapp.codec import content_to_dict
from relaydesk.domain import drafts
from relaydesk.domain.decision import Decision, Understanding
from relaydesk.services.understanding import customer_language

log = structlog.get_logger(__name__)

#: The decision contexts (conversation state, customer language, cohort) of this many
#: messages are read in one query, just before they are decided.
CONTEXT_CHUNK = 8


class DecisionContexts:
    """The decision contexts of the messages one transaction decides, read
    `CONTEXT_CHUNK` messages at a time just before they are decided (a transaction with a
    time budget may decide only the first few). A context is handed out once, and only
    while nothing in this transaction has written to its customer since it was read: a
    second message of the same customer in a chunk gets None (its decision reads afresh)."""

    def __init__(self, conn: Connection, todo: Sequence[store.Pending]) -> None:
        self._conn = conn
        self._todo = todo
        self._read_to = 0  #: contexts are read for todo[:_read_to]
        self._found: dict[int, repo.DecisionContext] = {}
        self._touched: set[int] = set()  #: customers decided since the last read

    def take(self, index: int, item: store.Pending) -> repo.DecisionContext | None:
        if index >= self._read_to:
            chunk = self._todo[index : index + CONTEXT_CHUNK]
            self._found = repo.decision_contexts(self._conn, [p.conversation_id for p in chunk])
            self._touched = set()
            self._read_to = index + len(chunk)
        context = self._found.pop(item.conversation_id, None)
        customer = item.customer_id
        stale = customer in self._touched
        self._touched.add(customer)
        if context is None or stale or context.arriving.customer_id != customer:
            return None
        return context


def in_customer_language(
    conn: Connection,
    item: store.Pending,
    understanding: Understanding,
    now: datetime,
    known: customers_store.CustomerLanguage | None = None,
) -> Understanding:
    """The understanding in the customer's language (kept on the customer, updated when
    this message settles it otherwise). `known`: the customer's language as read in
    this transaction (None: read here)."""
    if known is None:
        known = customers_store.language_of(conn, item.customer_id)
    understanding, language = customer_language(understanding, known.language)
    if language.changed and language.language is not None:
        customers_store.set_language(
            conn, item.customer_id, language.language, language.source or "detected", now
        )
        log.info(
            "customer_language_set",
            customer_id=item.customer_id,
            language=language.language,
            source=language.source,
        )
    return understanding


def held_as_draft(
    conn: Connection,
    intent_mode: drafts.IntentMode,
    conversation_id: int,
    message_id: int,
    decision: Decision,
    now: datetime,
) -> bool:
    """An answer of an intent in draft mode is stored as a draft for the Approvals view
    (`services.drafts`) instead of being queued for sending."""
    reply = drafts.held(decision, intent_mode)
    if reply is None or decision.intent is None:
        return False
    draft_id = drafts_store.insert(
        conn,
        conversation_id=conversation_id,
        message_id=message_id,
        intent=decision.intent,
        confidence=decision.confidence,
        text=drafts.body_of(reply),
        content=content_to_dict(reply),
        now=now,
    )
    log.info(
        "draft_held", draft_id=draft_id, conversation_id=conversation_id, intent=decision.intent
    )
    return True
