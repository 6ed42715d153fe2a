"""The satisfaction question after a person resolves a conversation: reply buttons while
the 24-hour window is open, the brief's CSAT template with quick replies after it. The
worker's timers send what is pending (`Timers.run`); the customer's tap comes back
through the webhook path (`services/handoff.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import csat as store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.whatsapp.codec import Recipient
from relaydesk.brief.schema import Brief
from relaydesk.domain.conversation import window_open
from relaydesk.domain.outbound import Button, Buttons, OutboundContent, Template
from relaydesk.domain.templates import in_language
from relaydesk.services.events import EventKind, record
from relaydesk.services.inbound import outbox_row

log = structlog.get_logger(__name__)

#: The question goes as reply buttons only if the window stays open this long after
#: enqueueing (the outbox would otherwise swap it for the re-engagement template).
CSAT_WINDOW_MARGIN = timedelta(minutes=5)


def send_pending(
    conn: Connection, ids: Sequence[int], brief: Brief, now: datetime
) -> tuple[int, int]:
    """Queue the question for those of `ids` still pending, in the caller's transaction
    (rows another worker holds are skipped on PostgreSQL). Returns (sent, skipped)."""
    sent = skipped = 0
    for row in store.claim_pending(conn, ids):
        content = None
        if row.wa_id or row.user_id:
            content = csat_content(
                brief,
                row.id,
                window_open=window_open(row.last_inbound_at, now + CSAT_WINDOW_MARGIN),
                customer_name=row.profile_name,
                language=row.language,
            )
        if content is None:
            skipped += 1
            store.mark(conn, row.id, "skipped")
            reason = "disabled" if not brief.csat.enabled else "no_template"
            log.info("csat_skipped", conversation_id=row.id, reason=reason)
            continue
        entry = outbox_row(
            conn,
            conversation_id=row.id,
            phone_number_id=row.phone_number_id,
            recipient=Recipient(row.wa_id, row.user_id),
            content=content,
            reply_to=None,
            now=now,
        )
        repo.insert_outbox_rows(conn, [entry])
        store.mark(conn, row.id, "sent")
        via = "template" if isinstance(content, Template) else "buttons"
        record(conn, EventKind.CSAT_SENT, now=now, conversation_id=row.id, detail={"via": via})
        sent += 1
        log.info("csat_sent", conversation_id=row.id, via=via)
    return sent, skipped


def csat_content(
    brief: Brief,
    conversation_id: int,
    *,
    window_open: bool,
    customer_name: str | None = None,
    language: str | None = None,
) -> OutboundContent | None:
    """The CSAT question for a resolved conversation: reply buttons while the 24-hour
    window is open, else the brief's CSAT template (its version in the customer's
    language where the brief has one: `domain.templates.in_language`) with one
    quick-reply payload per button. None when CSAT is off, or the window has closed and
    there is no template. Each button's id (payload) is `csat:<conversation_id>:<rating>`."""
    brief = brief.localized(language)  # the customer's language, where the brief has it
    asked = brief.csat
    if not asked.enabled:
        return None
    ids = [f"csat:{conversation_id}:{button.rating}" for button in asked.buttons]
    values = {"customer_name": customer_name or "there", "business": brief.business.name}
    if window_open:
        return Buttons(
            body=asked.question.format_map(values),
            buttons=tuple(Button(id, b.title) for id, b in zip(ids, asked.buttons, strict=True)),
        )
    if asked.template is None:
        return None
    spec = in_language(brief, asked.template, language)
    return Template(
        name=spec.name,
        language=spec.language,
        body_params=tuple(values.get(name, name) for name in spec.body_params),
        components=tuple(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": index,
                "parameters": [{"type": "payload", "payload": payload}],
            }
            for index, payload in enumerate(ids)
        ),
    )
