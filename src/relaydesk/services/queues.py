"""Read models of the work waiting and in hand, for the console and the API: my
conversations, the waiting queue in routing order, each queue's depth, oldest wait and SLA
risk, the SLA risk list, agents' presence and load, and the rewrite rate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection

from relaydesk.adapters.storage import agents as agents_store
from relaydesk.adapters.storage import queues as store
from relaydesk.adapters.storage.handoff import online_agents as _online_agents
from relaydesk.adapters.storage.queues import Summary
from relaydesk.brief.schema import Brief
from relaydesk.domain import desk, routing
from relaydesk.domain.conversation import ConversationStatus, window_expires_at
from relaydesk.domain.routing import PRIORITY_RANK
from relaydesk.domain.sla import SlaReport, SlaState, SlaStatus
from relaydesk.services import clocks


def my_conversations(
    conn: Connection,
    user_id: int,
    brief: Brief,
    now: datetime,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The conversations assigned to this person, most urgent first (priority, then the
    customer who has waited longest since writing); `limit` of them from `offset`."""
    rows = store.summaries(conn, (ConversationStatus.ASSIGNED.value,), assignee_id=user_id)
    rows.sort(
        key=lambda r: (
            PRIORITY_RANK.get(r.priority or brief.policy.default_priority, 9),
            r.last_inbound_at or r.created_at,
            r.id,
        )
    )
    return _summaries(conn, _slice(rows, limit, offset), brief, now)


def waiting(
    conn: Connection,
    brief: Brief,
    now: datetime,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Conversations waiting for a person, in the order agents get them
    (`domain.routing.order_queue`): window closing soon, priority, oldest; `limit` of them
    from `offset` (each with its `position` in the whole line)."""
    rows = {r.id: r for r in store.summaries(conn, (ConversationStatus.QUEUED.value,))}
    ordered = routing.order_queue([_as_waiting(r, brief) for r in rows.values()], now)
    page = _slice([rows[w.conversation_id] for w in ordered], limit, offset)
    out = _summaries(conn, page, brief, now)
    for position, item in enumerate(out, offset):
        item["position"] = position
    return out


def queue_overview(conn: Connection, brief: Brief, now: datetime) -> list[dict[str, Any]]:
    """Per queue of the brief: how many wait, the oldest wait, how many people own
    conversations there, who is online to take them, how many are at SLA risk, and
    whether it is a backlog (`domain.desk.backlog`: deeper or older than the brief's
    `policy.backlog_alert_depth` / `backlog_alert_wait`)."""
    rows = store.open_conversations(conn)
    reports = sla_reports_for(conn, brief, now, [r.id for r in rows])
    agents = _online_agents(conn)
    out = []
    for name, queue in brief.queues.items():
        mine = [r for r in rows if _queue_of(r.queue, brief) == name]
        queued = [r for r in mine if r.status == ConversationStatus.QUEUED.value]
        oldest = min((r.queued_at or r.created_at for r in queued), default=None)
        policy = brief.policy
        flagged = desk.backlog(
            len(queued),
            now - oldest if oldest else None,
            policy.backlog_alert_depth,
            policy.backlog_alert_wait,
        )
        out.append(
            {
                "name": name,
                "description": queue.description,
                "tier": queue.tier,
                "depth": len(queued),
                "assigned": len(mine) - len(queued),
                "oldest_queued_at": oldest,
                "oldest_wait_seconds": _seconds(now - oldest) if oldest else None,
                "at_risk": sum(1 for r in mine if _at_risk(reports.get(r.id))),
                "agents_online": sum(1 for a in agents if routing.qualified(a, queue, None)),
                "backlog": bool(flagged),
                "backlog_reasons": list(flagged),
            }
        )
    return out


def sla_risk(
    conn: Connection,
    brief: Brief,
    now: datetime,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Open conversations with an SLA clock in warning or breached: breached first, then
    the soonest due; `limit` of them from `offset`."""
    rows = {r.id: r for r in store.summaries(conn, OPEN)}
    reports = sla_reports_for(conn, brief, now, list(rows))
    risky = [cid for cid, report in reports.items() if _at_risk(report) and cid in rows]

    def urgency(cid: int) -> tuple[int, float]:
        worst = _worst(reports[cid])
        breached = worst.state is SlaState.BREACHED
        return (0 if breached else 1, worst.remaining.total_seconds())

    page = _slice(sorted(risky, key=urgency), limit, offset)
    return _summaries(conn, [rows[c] for c in page], brief, now, reports)


def agents_overview(conn: Connection) -> list[dict[str, Any]]:
    """Every active person: presence, conversations held against capacity, skills."""
    return [
        {
            "id": r.id,
            "name": r.name,
            "email": r.email,
            "role": r.role,
            "presence": r.presence,
            "active_conversations": r.active_conversations,
            "capacity": r.capacity,
            "skills": list(r.skills),
            "languages": list(r.languages),
            "last_assigned_at": r.last_assigned_at,
        }
        for r in agents_store.overview(conn)
    ]


def rewrite_stats(conn: Connection) -> dict[str, Any]:
    """How often agents change the suggested draft before sending, and by how much."""
    return desk.rewrite_stats(store.rewrites(conn)).as_dict()


# --- helpers ---------------------------------------------------------------------------

T = TypeVar("T")
OPEN = (ConversationStatus.QUEUED.value, ConversationStatus.ASSIGNED.value)
PREVIEW = 140
_STATE_RANK = {
    SlaState.BREACHED: 0,
    SlaState.WARNING: 1,
    SlaState.RUNNING: 2,
    SlaState.PAUSED: 3,
    SlaState.MET: 4,
}


def _slice(items: Sequence[T], limit: int | None, offset: int) -> Sequence[T]:
    return items[offset:] if limit is None else items[offset : offset + limit]


def _summaries(
    conn: Connection,
    rows: Sequence[Summary],
    brief: Brief,
    now: datetime,
    reports: Mapping[int, SlaReport] | None = None,
) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    if reports is None:
        reports = sla_reports_for(conn, brief, now, ids)
    last = {
        cid: {
            "direction": m.direction,
            "type": m.type,
            "text": (m.text or "")[:PREVIEW] or None,
            "at": m.sent_at,
        }
        for cid, m in store.last_messages(conn, ids).items()
    }
    out = []
    for r in rows:
        since = r.queued_at or r.created_at
        report = reports.get(r.id)
        out.append(
            {
                "id": r.id,
                "customer": {"name": r.profile_name, "wa_id": r.wa_id},
                "status": r.status,
                "queue": r.queue,
                "tier": r.tier,
                "priority": r.priority,
                "language": r.language,
                "assignee": (
                    {"id": r.assignee_id, "name": r.assignee_name} if r.assignee_id else None
                ),
                "queued_at": r.queued_at,
                "assigned_at": r.assigned_at,
                "last_inbound_at": r.last_inbound_at,
                "window_expires_at": window_expires_at(r.last_inbound_at),
                "waiting_seconds": (
                    _seconds(now - since) if r.status == ConversationStatus.QUEUED.value else None
                ),
                "last_message": last.get(r.id),
                "sla": _worst_out(report) if report is not None else None,
            }
        )
    return out


def _as_waiting(row: Summary, brief: Brief) -> routing.Waiting:
    return routing.Waiting(
        conversation_id=row.id,
        queue=_queue_of(row.queue, brief),
        priority=row.priority or brief.policy.default_priority,
        queued_at=row.queued_at or row.created_at,
        language=row.language,
        window_closes_at=window_expires_at(row.last_inbound_at),
        entered_target_at=row.entered_queue_at,
    )


def _queue_of(queue: str | None, brief: Brief) -> str:
    return queue if queue in brief.queues else brief.policy.default_queue


def _seconds(delta: timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def _worst(report: SlaReport) -> SlaStatus:
    return min(report.statuses, key=lambda s: (_STATE_RANK[s.state], s.remaining.total_seconds()))


def _at_risk(report: SlaReport | None) -> bool:
    return report is not None and any(
        s.state in (SlaState.WARNING, SlaState.BREACHED) for s in report.statuses
    )


def _status_out(status: SlaStatus) -> dict[str, Any]:
    return {
        "clock": status.clock.value,
        "state": status.state.value,
        "due_at": status.due_at,
        "remaining_seconds": int(status.remaining.total_seconds()),
    }


def _worst_out(report: SlaReport) -> dict[str, Any]:
    return _status_out(_worst(report))


def sla_out(report: SlaReport) -> dict[str, Any]:
    return {
        "priority": report.priority,
        "worst": _worst_out(report),
        "clocks": [_status_out(s) for s in report.statuses],
    }


def sla_reports_for(
    conn: Connection, brief: Brief, now: datetime, conversation_ids: Sequence[int]
) -> dict[int, SlaReport]:
    """The SLA clocks of these conversations (from `services.clocks`)."""
    if not conversation_ids:
        return {}
    return clocks.sla_reports(conn, brief, now, conversation_ids=list(conversation_ids))
