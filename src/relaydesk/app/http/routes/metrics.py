"""`/api/v1/metrics`: the Insights tables (scorecard, cohorts, SLA attainment, top failure
intents, the conversations behind a figure) as JSON, or as CSV with `.csv`; for
supervisors and admins. The console's Insights page shows the same rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import structlog
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import PlainTextResponse

from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import Problem
from relaydesk.domain.permissions import Action
from relaydesk.services import insights
from relaydesk.services.accounts import User

log = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/api/v1/metrics",
    tags=["metrics"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
)

Word = Annotated[str | None, Query(min_length=1, max_length=160)]


@router.get("/{table}", response_model=None)
async def metrics_table(
    table: str,
    container: ContainerDep,
    clock: ClockDep,
    _user: Annotated[User, allow(Action.INSIGHTS_READ)],
    start: Annotated[
        datetime | None, Query(description="Conversations that started from (ISO 8601).")
    ] = None,
    end: Annotated[datetime | None, Query(description="...and before this [default: now].")] = None,
    queue: Word = None,
    intent: Word = None,
    source: Word = None,
    number: Word = None,
    conversation_status: Annotated[
        str | None,
        Query(
            alias="status",
            min_length=1,
            max_length=16,
            description="bot, queued, assigned or resolved (as now).",
        ),
    ] = None,
    by: Annotated[
        str | None,
        Query(
            description="cohorts: source|intent|number; sla: priority|queue|agent; "
            "refused for the other tables."
        ),
    ] = None,
    figure: Annotated[
        str | None,
        Query(
            description="conversations: the scorecard figure they are behind; refused for "
            "the other tables."
        ),
    ] = None,
) -> dict[str, Any] | PlainTextResponse:
    """One table: `scorecard`, `cohorts`, `sla`, `failures` or `conversations`, over the
    conversations that started in `[start, end)` (default: the last 7 days); append
    `.csv` for the same rows as CSV."""
    name, csv = (table[:-4], True) if table.endswith(".csv") else (table, False)
    now = clock()
    try:
        since, until = insights.period(start, end, now)
        filters = insights.Filters(since, until, queue, intent, source, number, conversation_status)

        def load() -> list[dict[str, Any]]:
            return insights.table(
                container.db,
                container.brief,
                name,
                filters,
                now,
                by=by,
                figure=figure,
                cache=container.insights_cache,
            )

        rows = await anyio.to_thread.run_sync(load)
    except insights.BadQueryError as exc:
        log.info("metrics_query_refused", table=table, problem=str(exc))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if csv:
        return PlainTextResponse(
            insights.as_csv(name, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return {
        "table": name,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "columns": list(insights.COLUMNS[name]),
        "rows": rows,
    }
