"""Admins read the audit log: filters (action, actor id, target, dates) and a CSV export
of what the filters select."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from relaydesk.app.access import Actor
from relaydesk.app.console._web import allow, container_of, in_thread, render
from relaydesk.app.http.errors import printable
from relaydesk.app.http.schemas import MAX_ID
from relaydesk.domain.permissions import Action
from relaydesk.services import audit

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console/audit", include_in_schema=False)
PAGE = 100
CSV_ROWS = audit.MAX_PAGE
_TARGET = re.compile(r"[a-z_]+:(\d{1,19})?")


class FilterError(ValueError):
    pass


def _int(raw: str, name: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise FilterError(f"{name} {raw[:40]!r} is not an id; enter a whole number such as 3")
    return int(raw)


def _day(raw: str, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        raise FilterError(f"{name} {raw[:40]!r} is not a date; use YYYY-MM-DD (UTC)") from None


def _filter(request: Request, limit: int) -> tuple[audit.AuditFilter, dict[str, str]]:
    """The filter the query string asks for, and the values as typed (for the form)."""
    query = request.query_params
    values = {
        name: (query.get(name) or "").strip()[:200]
        for name in ("action", "actor_id", "target", "since", "until", "before_id")
    }
    action = values["action"] or None
    if action is not None and action not in audit.ACTIONS:
        raise FilterError(f"action {action[:64]!r} is not one of: {', '.join(audit.ACTIONS)}")
    target = values["target"] or None
    if target is not None and not _TARGET.fullmatch(target):
        raise FilterError(
            f"target {target[:60]!r}: write a kind and an id, such as conversation:12, or a "
            "kind and a colon for all of them, such as customer:"
        )
    until = _day(values["until"], "until")
    return (
        audit.AuditFilter(
            actor_id=_int(values["actor_id"], "actor id"),
            action=action,
            target=target,
            since=_day(values["since"], "since"),
            until=None if until is None or until.date() == date.max else until + timedelta(days=1),
            before_id=_int(values["before_id"], "page"),
            limit=limit,
        ),
        values,
    )


async def _read(request: Request, where: audit.AuditFilter) -> list[audit.AuditEntry]:
    container = container_of(request)

    def load() -> list[audit.AuditEntry]:
        with container.db.read() as conn:
            return audit.entries(conn, where)

    return await in_thread(load)


@router.get("", response_class=HTMLResponse)
async def audit_page(
    request: Request, _session: Annotated[Actor, allow(Action.AUDIT_READ)]
) -> HTMLResponse:
    try:
        where, values = _filter(request, PAGE)
    except FilterError as exc:
        log.info("console_audit_filter_refused")
        return render(
            request,
            "audit.html",
            {
                "entries": [],
                "values": printable(dict(request.query_params)),
                "error": str(exc),
                "actions": audit.ACTIONS,
                "query": "",
                "next_before": None,
            },
            status=422,
        )
    found = await _read(request, where)
    query = urlencode({k: v for k, v in values.items() if v and k != "before_id"})
    return render(
        request,
        "audit.html",
        {
            "entries": [audit.as_dict(e) for e in found],
            "values": values,
            "error": None,
            "actions": audit.ACTIONS,
            "query": query,
            "next_before": found[-1].id if len(found) == PAGE else None,
        },
    )


@router.get(".csv", response_model=None)
async def audit_csv(
    request: Request, _session: Annotated[Actor, allow(Action.AUDIT_READ)]
) -> Response:
    try:
        where, _ = _filter(request, CSV_ROWS)
    except FilterError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")
    found = await _read(request, where)
    return Response(
        audit.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
