"""What agents and supervisors do with a conversation after an escalation: reply, note,
resolve, hand back, feedback, presence; and, from `services.moves`, the assignment round,
take, transfer, escalate and release.

Every action is one transaction that also writes its `services.events` event, and
refuses with an `ActionError` carrying the HTTP status: 404 no such conversation, 403 not
yours or not your role, 409 not in a state that allows it, 422 a bad value. A refusal
changes nothing. Agents act on the conversations assigned to them; supervisors and
admins on any.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from relaydesk.adapters.storage import agents as agents_store
from relaydesk.adapters.storage import desk as desk_store
from relaydesk.adapters.whatsapp.codec import Recipient
from relaydesk.domain import routing
from relaydesk.domain.desk import FAILURE_TAGS, VERDICTS
from relaydesk.domain.outbound import Text
from relaydesk.services import audit
from relaydesk.services.accounts import User
from relaydesk.services.events import EventKind, record
from relaydesk.services.inbound import outbox_row
from relaydesk.services.moves import OPEN, ActionError, Moves

__all__ = ["MAX_DRAFT", "MAX_NOTE", "MAX_REPLY", "ActionError", "AgentDesk"]

log = structlog.get_logger(__name__)
MAX_REPLY = 4096
MAX_DRAFT = 2 * MAX_REPLY
MAX_NOTE = 4000


class AgentDesk(Moves):
    """Every action of agents and supervisors, for the console and the API."""

    # --- presence -------------------------------------------------------------------------

    def set_presence(self, user: User, presence: str, now: datetime) -> None:
        try:
            value = routing.Presence(presence)
        except ValueError:
            choices = ", ".join(p.value for p in routing.Presence)
            raise ActionError(f"presence {presence!r} is not one of: {choices}", 422) from None
        with self._db.write() as conn:
            agents_store.set_presence(conn, user.id, value)
            record(
                conn,
                EventKind.PRESENCE,
                now=now,
                actor_id=user.id,
                detail={"presence": value.value},
            )
        log.info("agent_presence", agent_id=user.id, presence=value.value)

    # --- talking to the customer ----------------------------------------------------------

    def reply(
        self, user: User, conversation_id: int, text: str, now: datetime, draft: str | None = None
    ) -> int:
        """Queue an agent's reply; after the 24-hour window the worker sends the brief's
        template instead. `draft` is the suggested text the agent started from (kept for
        the rewrite rate). Returns the outbox row id."""
        body = text.strip()
        if not body or len(body) > MAX_REPLY:
            raise ActionError(
                f"the reply is {len(body)} characters; WhatsApp takes 1 to {MAX_REPLY}", 422
            )
        started_from = (draft or "").strip() or None
        if started_from is not None and len(started_from) > MAX_DRAFT:
            raise ActionError(
                f"the draft is {len(started_from)} characters; at most {MAX_DRAFT} are kept", 422
            )
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id, OPEN)
            entry = outbox_row(
                conn,
                conversation_id=conversation_id,
                phone_number_id=row.phone_number_id,
                recipient=Recipient(*desk_store.customer_keys(conn, row.customer_id)),
                content=Text(body),
                reply_to=None,
                now=now,
            )
            outbox_id = desk_store.queue_reply(
                conn, entry, author_id=user.id, draft=started_from, now=now
            )
            record(
                conn,
                EventKind.MESSAGE_OUT,
                now=now,
                conversation_id=conversation_id,
                actor_id=user.id,
                detail={"message_id": entry["message_id"], "drafted": started_from is not None},
            )
            audit.record(
                conn,
                "conversation.replied",
                now=now,
                actor=user,
                target=f"conversation:{conversation_id}",
                after={
                    "message_id": entry["message_id"],
                    "outbox_id": outbox_id,
                    "drafted": started_from is not None,
                },
            )
        log.info("agent_replied", conversation_id=conversation_id, agent_id=user.id)
        return outbox_id

    def add_note(self, user: User, conversation_id: int, body: str, now: datetime) -> int:
        """An internal note, for colleagues only (never sent). Returns its id."""
        text = body.strip()
        if not 1 <= len(text) <= MAX_NOTE:
            raise ActionError(f"the note is {len(text)} characters; write 1 to {MAX_NOTE}", 422)
        with self._db.write() as conn:
            self._owned(conn, user, conversation_id)
            note_id = desk_store.add_note(
                conn, conversation_id, author_id=user.id, body=text, now=now
            )
            record(
                conn,
                EventKind.NOTE,
                now=now,
                conversation_id=conversation_id,
                actor_id=user.id,
                detail={"note_id": note_id},
            )
        log.info("note_added", conversation_id=conversation_id, agent_id=user.id)
        return note_id

    # --- closing --------------------------------------------------------------------------

    def resolve(self, user: User, conversation_id: int, now: datetime) -> None:
        """Close the conversation; the worker then asks the customer for a rating."""
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id, OPEN)
            desk_store.resolve(conn, conversation_id, now)
            record(
                conn, EventKind.RESOLVED, now=now, conversation_id=conversation_id, actor_id=user.id
            )
            audit.record(
                conn,
                "conversation.resolved",
                now=now,
                actor=user,
                target=f"conversation:{conversation_id}",
                before={"status": row.status, "queue": row.queue, "assignee_id": row.assignee_id},
                after={"status": "resolved"},
            )
        log.info("conversation_resolved", conversation_id=conversation_id, agent_id=user.id)

    def hand_back(self, user: User, conversation_id: int, now: datetime) -> None:
        """The bot takes the conversation again."""
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id, OPEN)
            desk_store.hand_back(conn, conversation_id, now)
            record(
                conn,
                EventKind.HANDED_BACK,
                now=now,
                conversation_id=conversation_id,
                actor_id=user.id,
                detail={"queue": row.queue},
            )
        log.info("conversation_bot", conversation_id=conversation_id, agent_id=user.id)

    def feedback(
        self,
        user: User,
        conversation_id: int,
        verdict: str,
        tags: Sequence[str],
        now: datetime,
    ) -> None:
        """The agent's verdict on the escalation (needed, not needed, too late) and what
        the bot did wrong; given again, it replaces the earlier one."""
        if verdict not in VERDICTS:
            raise ActionError(f"verdict {verdict!r} is not one of: {', '.join(VERDICTS)}", 422)
        unknown = [t for t in tags if t not in FAILURE_TAGS]
        if unknown:
            raise ActionError(
                f"failure tag(s) {', '.join(map(repr, unknown))} not known; use any of: "
                f"{', '.join(FAILURE_TAGS)}",
                422,
            )
        chosen = [t for t in FAILURE_TAGS if t in tags]
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id)
            if row.escalated_at is None and row.queued_at is None:
                raise ActionError(
                    f"conversation {conversation_id} was never escalated; feedback is about "
                    "an escalation",
                    409,
                )
            desk_store.save_feedback(
                conn, conversation_id, verdict=verdict, tags=chosen, by=user.id, now=now
            )
            record(
                conn,
                EventKind.FEEDBACK,
                now=now,
                conversation_id=conversation_id,
                actor_id=user.id,
                detail={"verdict": verdict, "tags": chosen},
            )
            audit.record(
                conn,
                "conversation.feedback",
                now=now,
                actor=user,
                target=f"conversation:{conversation_id}",
                after={"verdict": verdict, "tags": chosen},
            )
        log.info("escalation_feedback", conversation_id=conversation_id, verdict=verdict)
