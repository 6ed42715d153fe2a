"""The supervisor's page: queues, the SLA risk list, agents' load and presence, and the
latest supervisor alerts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from relaydesk.app.access import Actor
from relaydesk.app.console._web import allow, container_of, in_thread, now_of, render
from relaydesk.domain.permissions import Action
from relaydesk.services import conversations
from relaydesk.services import events as event_log
from relaydesk.services.events import EventKind

router = APIRouter(prefix="/console", include_in_schema=False)

ALERT_KINDS = frozenset({EventKind.SUPERVISOR_ALERT.value, EventKind.SLA_BREACH.value})
ALERTS_SHOWN = 20
_ALERT_WINDOW = 500  #: alerts are looked for among this many latest events


@router.get("/supervisor", response_class=HTMLResponse)
async def supervisor(
    request: Request, _session: Annotated[Actor, allow(Action.SUPERVISION_READ)]
) -> HTMLResponse:
    container = container_of(request)
    now = now_of(request)

    def load() -> dict[str, Any]:
        with container.db.read() as conn:
            latest = event_log.last_id(conn)
            recent = event_log.read_after(conn, max(latest - _ALERT_WINDOW, 0), _ALERT_WINDOW)
            return {
                "queues": conversations.queue_overview(conn, container.brief, now),
                "risk": conversations.sla_risk(conn, container.brief, now),
                "agents": conversations.agents_overview(conn),
                "alerts": [e for e in reversed(recent) if e.kind in ALERT_KINDS][:ALERTS_SHOWN],
                "rewrites": conversations.rewrite_stats(conn),
            }

    return render(request, "supervisor.html", await in_thread(load))
