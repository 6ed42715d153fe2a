"""The Insights pages for supervisors: the scorecard with charts (server-side SVG: no
network), filters (dates, queue, intent, source, number), cohorts, SLA attainment and top
failure intents, each figure linked to the conversations behind it, each table exported as
the same CSV the API gives (`/api/v1/metrics/<table>.csv`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from relaydesk.adapters.storage import brief_versions as versions_store
from relaydesk.app.access import Actor
from relaydesk.app.console._web import allow, container_of, in_thread, now_of, render
from relaydesk.domain import sources
from relaydesk.domain.permissions import Action
from relaydesk.reports.weekly import duration, percent
from relaydesk.services import conversations, insights

router = APIRouter(prefix="/console/insights", include_in_schema=False)
log = structlog.get_logger(__name__)
FILTERS = ("queue", "intent", "source", "number", "status")
SOURCES = sources.SOURCES
CHANGES_SHOWN = 100


def _day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise insights.BadQueryError(
            f"{name} {raw[:40]!r} is not a date; write YYYY-MM-DD"
        ) from None


def _filters(request: Request, now: datetime) -> tuple[insights.Filters, dict[str, str]]:
    """The query's filters; dates are whole days in the brief's time zone, both included.
    The days given are checked as given; the default start (6 days before the end) is kept
    from 1970-01-01, and the day after the end may be 9001-01-01."""
    zone = container_of(request).brief.timezone
    given = {name: _day(request, name) for name in ("start", "end")}
    for name, day in given.items():
        if day is not None:
            insights.in_range(name, day)
    last = given["end"] or now.astimezone(zone).date()
    shown_last = f"end {last}" if given["end"] else f"end {last} (today, the default)"
    first = given["start"]
    if first is None:
        first = insights.default_first_day(last)
    elif first > last:
        raise insights.BadQueryError(
            f"start {first} is after {shown_last}; give a start on or before the end"
        )
    elif (days := (last - first).days + 1) > insights.MAX_PERIOD.days:
        raise insights.BadQueryError(
            f"start {first} to {shown_last}: the period is {days} days, longer than "
            f"{insights.MAX_PERIOD.days} days; shorten it"
        )
    chosen = {k: v.strip() for k in FILTERS if (v := request.query_params.get(k, "")).strip()}
    for name, value in chosen.items():
        if len(value) > 160:
            raise insights.BadQueryError(f"{name} is {len(value)} characters; at most 160")
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    filters = insights.Filters(start, end, **chosen)
    form = {"start": first.isoformat(), "end": last.isoformat(), **chosen}
    return filters, form


def _not_taken(request: Request) -> None:
    """Refuse `by` and `figure` on the Insights page: its tables choose their own."""
    for parameter in ("by", "figure"):
        if value := request.query_params.get(parameter, ""):
            takes = insights.FILTER_PARAMETERS
            raise insights.BadQueryError(
                f"{parameter}={value[:40]!r} does not apply to the Insights page; it takes "
                f"{', '.join(takes[:-1])} and {takes[-1]} ({parameter} is for "
                + (
                    "/console/insights/conversations)"
                    if parameter == "figure"
                    else "/console/insights/cohorts.csv and sla.csv)"
                )
            )


def _shown(unit: str, value: float | None) -> str:
    if value is None:
        return "-"
    if unit == "seconds":
        return duration(value)
    if unit == "rating":
        return f"{value:.2f}"
    return percent(value)


@router.get("", response_class=HTMLResponse)
async def insights_page(
    request: Request, _session: Annotated[Actor, allow(Action.INSIGHTS_READ)]
) -> HTMLResponse:
    container, now = container_of(request), now_of(request)
    brief = container.brief
    choices = {
        "queue": sorted(brief.queues),
        "intent": sorted(brief.intents),
        "source": list(SOURCES),
        "status": list(insights.STATUSES),
    }
    try:
        _not_taken(request)
        filters, form = _filters(request, now)

        def load() -> dict[str, Any]:
            period = insights.Tables(container.db, brief, filters, now, container.insights_cache)
            period.check("scorecard")  # the filters' values, before anything is read
            with container.db.read() as conn:
                people = {a["id"]: a["name"] for a in conversations.agents_overview(conn)}
            return {
                "people": people,
                "scorecard": period.rows("scorecard"),
                "cohorts_source": period.rows("cohorts", by="source"),
                "cohorts_intent": period.rows("cohorts", by="intent"),
                "cohorts_number": period.rows("cohorts", by="number"),
                "sla_priority": period.rows("sla", by="priority"),
                "sla_queue": period.rows("sla", by="queue"),
                "sla_agent": period.rows("sla", by="agent"),
                "failures": period.rows("failures"),
            }

        tables = await in_thread(load)
    except insights.BadQueryError as exc:
        log.info("insights_query_refused", problem=str(exc))
        form = {k: request.query_params.get(k, "")[:160] for k in ("start", "end", *FILTERS)}
        return render(
            request,
            "insights.html",
            {"error": str(exc), "form": form, "choices": choices, "tables": None},
            status=422,
        )
    for name in ("queue", "intent"):  # a value of an older brief (linked from the tables)
        if form.get(name) and form[name] not in choices[name]:
            choices[name].append(form[name])
    query = urlencode(form)
    for line in tables["scorecard"]:
        line["shown"] = _shown(line["unit"], line["value"])
        line["shown_previous"] = _shown(line["unit"], line["previous"])
        line["shown_target"] = _shown(line["unit"], line["target"])
    return render(
        request,
        "insights.html",
        {
            "error": None,
            "form": form,
            "choices": choices,
            "tables": tables,
            "query": query,
            "bars": [line for line in tables["scorecard"] if line["unit"] == "ratio"],
        },
    )


@router.get("/conversations", response_class=HTMLResponse)
async def insights_conversations(
    request: Request, _session: Annotated[Actor, allow(Action.INSIGHTS_READ)]
) -> HTMLResponse:
    """The conversations behind one figure (or all of the period), linked to each."""
    container, now = container_of(request), now_of(request)
    by = request.query_params.get("by") or None
    figure = request.query_params.get("figure") or None
    try:
        filters, form = _filters(request, now)
        rows = await in_thread(
            lambda: insights.table(
                container.db,
                container.brief,
                "conversations",
                filters,
                now,
                by=by,
                figure=figure,
                cache=container.insights_cache,
            )
        )
    except insights.BadQueryError as exc:
        log.info("insights_query_refused", problem=str(exc))
        return render(
            request,
            "insights_conversations.html",
            {"error": str(exc), "rows": [], "figure": None, "query": "", "back": ""},
            status=422,
        )
    query = urlencode(form | ({"figure": figure} if figure else {}))
    return render(
        request,
        "insights_conversations.html",
        {
            "error": None,
            "rows": rows,
            "figure": figure,
            "query": query,
            "back": urlencode(form),  # the Insights page takes no figure
            "form": form,
        },
    )


@router.get("/changes", response_class=HTMLResponse)
async def change_log_page(
    request: Request, _session: Annotated[Actor, allow(Action.BRIEF_READ)]
) -> HTMLResponse:
    """The change log, newest first: brief versions (with their diffs) and rollout
    changes."""
    container = container_of(request)

    def load() -> dict[str, Any]:
        with container.db.read() as conn:
            entries = versions_store.recent_changes(conn, CHANGES_SHOWN)
            versions = {
                v.version: v
                for v in versions_store.history(conn, CHANGES_SHOWN)
                if any(e.brief_version == v.version and e.kind == "brief" for e in entries)
            }
        return {"entries": entries, "versions": versions, "running": container.brief.version}

    return render(request, "change_log.html", await in_thread(load))


@router.get("/{table}.csv")
async def insights_csv(
    request: Request, table: str, _session: Annotated[Actor, allow(Action.INSIGHTS_READ)]
) -> Response:
    """A table as CSV: the same rows as `/api/v1/metrics/<table>.csv`."""
    container, now = container_of(request), now_of(request)
    by = request.query_params.get("by") or None
    figure = request.query_params.get("figure") or None
    try:
        filters, _ = _filters(request, now)
        rows = await in_thread(
            lambda: insights.table(
                container.db,
                container.brief,
                table,
                filters,
                now,
                by=by,
                figure=figure,
                cache=container.insights_cache,
            )
        )
    except insights.BadQueryError as exc:
        log.info("insights_query_refused", problem=str(exc))
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")
    return Response(
        insights.as_csv(table, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
    )
