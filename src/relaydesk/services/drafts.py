"""Draft mode: the bot's answers for intents in draft mode wait for a person in the
Approvals view (console and API). An agent approves a draft as it is, edits it, or
rejects it; a draft nobody handles within the brief's `rollout.draft_timeout` expires.

The customer receives exactly one message per draft: every action locks the draft's
conversation and moves the draft out of `pending` with a conditional UPDATE in the same
transaction as the reply's outbox row, so of two clicks or two agents racing only one
sends (the other is answered 409). A rejected or expired draft hands its conversation to
people as any escalation does (the intent's queue, the handoff message with the live
wait, the `escalated` event), unless people already have it.

Who sees what: a pending draft of a conversation the bot holds waits for any person, as a
queued conversation does, so every role sees and may handle it; a handled draft is seen
by supervisors and admins, by whoever handled it, and by those who see its conversation
(`services.conversations.visible`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import desk as desk_store
from relaydesk.adapters.storage import drafts as store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.desk import Worked
from relaydesk.adapters.storage.drafts import Draft
from relaydesk.adapters.whatsapp.codec import Recipient, content_from_dict
from relaydesk.brief.schema import Brief
from relaydesk.domain import drafts as rules
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.permissions import Action, can
from relaydesk.domain.policy import with_wait
from relaydesk.services._ingest_rows import decision_row, outbox_row
from relaydesk.services.accounts import User
from relaydesk.services.conversations import messages_page, visible
from relaydesk.services.events import EventKind, record
from relaydesk.services.handoff import LiveQueue, record_events
from relaydesk.services.moves import ActionError

__all__ = ["Draft", "DraftDesk", "may_see"]

log = structlog.get_logger(__name__)
BOT = ConversationStatus.BOT.value
#: How many drafts one timeout round expires per transaction.
EXPIRE_BATCH = 25


def may_see(user: User, draft: Draft) -> bool:
    """The visibility rule of drafts, for the API and the console alike (module doc)."""
    if draft.state == store.PENDING and draft.conversation_status == BOT:
        return True
    return (
        can(user.role, Action.CONVERSATIONS_READ_ANY)
        or draft.handled_by == user.id
        or visible(user, draft.conversation_status, draft.assignee_id)
    )


class DraftDesk:
    """Listing, approving, editing, rejecting and expiring drafts."""

    def __init__(
        self,
        db: Database,
        brief: Brief,
        *,
        on_outbound: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._brief = brief
        self._queue = LiveQueue(brief)
        self.on_outbound = on_outbound
        self.on_event = on_event

    # --- reading ----------------------------------------------------------------------------

    def waiting(self, limit: int = 50, after: int | None = None) -> list[Draft]:
        """The drafts waiting for approval (their conversation still with the bot), oldest
        first: everyone may see and handle these."""
        with self._db.read() as conn:
            return store.pending(conn, conversation_status=BOT, limit=limit, after=after)

    def get(self, user: User, draft_id: int) -> Draft:
        with self._db.read() as conn:
            draft = store.get(conn, draft_id)
        if draft is None:
            raise ActionError(f"no draft {draft_id}", 404)
        if not may_see(user, draft):
            raise ActionError(
                f"draft {draft_id} was handled by someone else in a conversation you do not "
                "see; ask a supervisor",
                403,
            )
        return draft

    def context(self, conversation_id: int, limit: int = 6) -> list[dict[str, Any]]:
        """The conversation's newest `limit` messages, oldest first."""
        with self._db.read() as conn:
            shown, _ = messages_page(conn, conversation_id, limit=limit)
        return shown

    # --- handling ---------------------------------------------------------------------------

    def approve(self, user: User, draft_id: int, now: datetime, text: str | None = None) -> Draft:
        """Send the draft, as drafted (`text` None or the same words) or with its text
        replaced by `text` (its buttons kept); stores what was sent, the edit distance and
        whether it was sent unchanged. 404 unknown, 409 already handled or the
        conversation no longer the bot's, 422 an edit WhatsApp would refuse."""
        with self._db.write() as conn:
            draft, row = self._pending(conn, draft_id)
            drafted = content_from_dict(draft.content)
            try:
                content = drafted if text is None else rules.edited(drafted, text)
                sent = rules.body_of(content)
            except ValueError as exc:
                raise ActionError(f"draft {draft_id}: {exc}", 422) from None
            distance, unchanged = rules.outcome_of_edit(draft.text, sent)
            if unchanged:
                content = drafted  # the exact message the bot composed
            self._claim(
                conn,
                draft,
                rules.SENT,
                user,
                now,
                sent_text=sent,
                edit_distance=distance,
                unchanged=unchanged,
            )
            entry = outbox_row(
                conn,
                conversation_id=row.id,
                phone_number_id=row.phone_number_id,
                recipient=Recipient(*desk_store.customer_keys(conn, row.customer_id)),
                content=content,
                reply_to=None,
                now=now,
            )
            outbox_id = desk_store.queue_reply(
                conn, entry, author_id=user.id, draft=draft.text, now=now
            )
            store.set_outbox(conn, draft.id, outbox_id)
            record(
                conn,
                EventKind.MESSAGE_OUT,
                now=now,
                conversation_id=row.id,
                actor_id=user.id,
                detail={"message_id": entry["message_id"], "drafted": True, "draft_id": draft.id},
            )
            handled = store.get(conn, draft.id)
        log.info(
            "draft_sent",
            draft_id=draft.id,
            conversation_id=row.id,
            intent=draft.intent,
            agent_id=user.id,
            unchanged=unchanged,
            edit_distance=distance,
        )
        self.on_outbound()
        self.on_event()
        assert handled is not None
        return handled

    def reject(self, user: User, draft_id: int, now: datetime) -> Draft:
        """Never send the draft; the conversation goes to people (the intent's queue)."""
        with self._db.write() as conn:
            draft, row = self._pending(conn, draft_id)
            self._claim(conn, draft, rules.REJECTED, user, now)
            self._escalate(conn, draft, row, "draft_rejected", now)
            handled = store.get(conn, draft.id)
        log.info(
            "draft_rejected",
            draft_id=draft.id,
            conversation_id=row.id,
            intent=draft.intent,
            agent_id=user.id,
        )
        self.on_outbound()
        self.on_event()
        assert handled is not None
        return handled

    def expire_due(self, now: datetime) -> int:
        """Expire every pending draft older than the brief's `rollout.draft_timeout`; its
        conversation, if the bot still holds it, is escalated. Safe from several workers
        (the conditional update lets one act). Returns how many expired."""
        cutoff = now - self._brief.rollout.draft_timeout
        expired = 0
        while True:
            with self._db.write() as conn:
                ids = store.due_ids(conn, cutoff, limit=EXPIRE_BATCH)
                for draft_id in ids:
                    expired += self._expire(conn, draft_id, now)
            if len(ids) < EXPIRE_BATCH:
                break
        if expired:
            self.on_outbound()
            self.on_event()
        return expired

    def _expire(self, conn: Connection, draft_id: int, now: datetime) -> int:
        found = store.get(conn, draft_id)
        if found is None:
            return 0
        row = desk_store.lock(conn, found.conversation_id)
        draft = store.get(conn, draft_id)  # read again under the conversation's lock
        if row is None or draft is None or draft.state != store.PENDING:
            return 0
        if not store.handle(conn, draft.id, state=rules.EXPIRED, by=None, now=now):
            return 0
        escalated = self._escalate(conn, draft, row, "draft_expired", now)
        log.info(
            "draft_expired",
            draft_id=draft.id,
            conversation_id=row.id,
            intent=draft.intent,
            escalated=escalated,
        )
        return 1

    # --- helpers ----------------------------------------------------------------------------

    def _pending(self, conn: Connection, draft_id: int) -> tuple[Draft, Worked]:
        """The draft and its conversation (locked: two handlers of one draft queue up
        here), if it waits for a person and the bot still holds the conversation."""
        found = store.get(conn, draft_id)
        if found is None:
            raise ActionError(f"no draft {draft_id}", 404)
        row = desk_store.lock(conn, found.conversation_id)
        draft = store.get(conn, draft_id)  # read again under the lock
        if row is None or draft is None:
            raise ActionError(f"no draft {draft_id}", 404)
        if draft.state != store.PENDING:
            who = f" by {draft.handled_by_name}" if draft.handled_by_name else ""
            raise ActionError(
                f"draft {draft_id} is {draft.state} already{who}; nothing was sent again",
                409,
            )
        if row.status != BOT:
            raise ActionError(
                f"conversation {row.id} is {row.status}: people have it now, so its draft "
                "is not sent from here; answer from the conversation (its suggested reply "
                "is this draft)",
                409,
            )
        return draft, row

    def _claim(
        self,
        conn: Connection,
        draft: Draft,
        state: str,
        user: User,
        now: datetime,
        **outcome: Any,
    ) -> None:
        if not store.handle(conn, draft.id, state=state, by=user.id, now=now, **outcome):
            raise ActionError(f"draft {draft.id} was handled by someone else just now", 409)

    def _escalate(
        self,
        conn: Connection,
        draft: Draft,
        row: Worked,
        reason: Literal["draft_rejected", "draft_expired"],
        now: datetime,
    ) -> bool:
        """Hand the conversation to people, as the decision stage escalates; False when
        the bot no longer holds it (people have it, or it was resolved)."""
        state = repo.conversation_state(conn, row.id)
        if state.status is not ConversationStatus.BOT:
            return False
        outcome = rules.escalation(
            self._brief,
            intent=draft.intent,
            confidence=draft.confidence,
            reason=reason,
            dialogue=state.dialogue,
            language=row.language,
            now=now,
        )
        handoff = outcome.handoff
        assert handoff is not None  # an escalation always carries its handoff draft
        window_from = state.last_inbound_at or draft.created_at
        snapshot = self._queue.snapshot(conn, row.id, handoff, window_from, now)
        outcome = with_wait(outcome, self._brief, snapshot, now)
        decision = outcome.decision
        route = decision.route
        assert route is not None
        repo.finish_inbound(
            conn,
            row.id,
            last_inbound_at=window_from,
            dialogue=outcome.dialogue,
            status=ConversationStatus.QUEUED,
            queue=route.queue,
            tier=route.tier,
            priority=route.priority,
            now=now,
            queued_at=now,
            escalated=True,
            language=row.language,
        )
        record_events(conn, state, decision, draft.message_id, "text", now)
        repo.record_decisions(conn, [decision_row(row.id, draft.message_id, decision, now)])
        recipient = Recipient(*desk_store.customer_keys(conn, row.customer_id))
        repo.insert_outbox_rows(
            conn,
            [
                outbox_row(
                    conn,
                    conversation_id=row.id,
                    phone_number_id=row.phone_number_id,
                    recipient=recipient,
                    content=reply,
                    reply_to=None,
                    now=now,
                )
                for reply in decision.replies
            ],
        )
        log.info(
            "conversation_escalated",
            conversation_id=row.id,
            queue=route.queue,
            triggers=[reason],
            wait_basis=decision.detail.get("wait_basis"),
        )
        return True
