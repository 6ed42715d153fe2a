"""The weekly review as Markdown and as one self-contained HTML page (inline SVG charts:
it opens with no network)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from relaydesk.domain.scorecard import Compared, Line
from relaydesk.services.weekly import Calibrate, WeeklyReview

_TEMPLATES = Path(__file__).parent / "templates"
DIMENSION_TITLES = {"source": "By source", "intent": "By intent", "number": "By business number"}
CALIBRATION_RULE = (
    "Five escalated and five bot-only conversations of the week: failures first (a "
    'bot-failure trigger, a failure tag, "should have come sooner", a bot-only '
    "conversation that came back within 7 days), then the lowest CSAT, then the most messages from "
    "the customer and agents; ties by id."
)


#: Who acts on each section of the review: (what, a key of the brief's `owners`); no
#: "what" is the whole section.
SECTION_OWNERS: dict[str, tuple[tuple[str, str], ...]] = {
    "scorecard": (
        ("", "reporting"),
        ("SLA attainment", "routing"),
        ("escalation precision and recall", "escalation"),
    ),
    "cohorts": (("", "reporting"),),
    "failures": (("", "escalation"),),
    "gaps": (("", "answers"),),
    "calibration": (("", "escalation"),),
    "changes": (("", "brief"),),
}


def owners(data: WeeklyReview) -> str:
    """Who owns what, one entry per person: "Owners: Ann (brief, answers); Bo (routing)."
    ("" when the brief names nobody)."""
    roles: dict[str, list[str]] = {}
    for role, who in data.owners.items():
        roles.setdefault(who, []).append(role)
    shown = "; ".join(f"{who} ({', '.join(owned)})" for who, owned in roles.items())
    return f"Owners: {shown}." if shown else ""


def owner(data: WeeklyReview, section: str) -> str:
    """Who acts on `section`: "Owner: Ann (reporting); SLA attainment: Bo (routing)."
    ("" when the brief names nobody for it)."""
    shown = "; ".join(
        f"{what or 'Owner'}: {who} ({role})"
        for what, role in SECTION_OWNERS[section]
        if (who := data.owners.get(role))
    )
    return f"{shown}." if shown else ""


def value(line: Line | None) -> str:
    """A figure as people read it: durations in s/m/h/d, ratios in %, ratings as x.x/5."""
    if line is None or line.value is None:
        return "-"
    return _shown(line.unit, line.value)


def target(line: Line) -> str:
    return "-" if line.target is None else _shown(line.unit, line.target)


def change(item: Compared) -> str:
    delta = item.change
    if delta is None:
        return "-"
    sign = "+" if delta > 0 else ("-" if delta < 0 else "±")
    return sign + _shown(item.line.unit, abs(delta))


def verdict(line: Line) -> str:
    return {True: "on target", False: "off target", None: ""}[line.on_target]


def _shown(unit: str, amount: float) -> str:
    if unit == "ratio":
        return f"{amount:.0%}" if amount in (0, 1) or amount >= 0.1 else f"{amount:.1%}"
    if unit == "rating":
        return f"{amount:.2f}".rstrip("0").rstrip(".")
    return duration(amount)


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" + (f" {sec}s" if sec else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h" + (f" {minutes}m" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days}d" + (f" {hours}h" if hours else "")


def percent(amount: float | None) -> str:
    return "-" if amount is None else f"{amount:.0%}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        value=value,
        target=target,
        change=change,
        verdict=verdict,
        percent=percent,
        owners=owners,
        owner=owner,
    )
    return env


def render_html(data: WeeklyReview) -> str:
    peak = max((bot + people for _, bot, people in data.daily), default=0)
    return (
        _environment()
        .get_template("weekly.html")
        .render(
            r=data,
            titles=DIMENSION_TITLES,
            rule=CALIBRATION_RULE,
            peak=max(peak, 1),
        )
    )


def render_markdown(data: WeeklyReview) -> str:
    wk = data.week
    out = [
        f"# Weekly review: {data.business}, {wk.label}",
        "",
        f"{wk.start.date():%d %b %Y} to {wk.last_day:%d %b %Y} ({wk.start.tzname()}); "
        f"{data.conversations} conversations started (last week {data.previous_conversations}); "
        f"figures as of {data.now:%Y-%m-%d %H:%M} UTC; brief version {data.brief_version}.",
        *_owned(owners(data)),
        "",
        "## Scorecard",
        *_owned(owner(data, "scorecard")),
        "",
        "| figure | this week | last week | change | target | | counted |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for item in data.scorecard:
        line = item.line
        out.append(
            f"| {line.label} | {value(line)} | {value(item.previous)} | {change(item)} "
            f"| {target(line)} | {verdict(line)} | {line.count} |"
        )
    out += ["", "## Cohorts", *_owned(owner(data, "cohorts"))]
    for dimension, rows in data.cohorts.items():
        out += [
            "",
            f"### {DIMENSION_TITLES[dimension]}",
            "",
            f"| {dimension} | conversations | last week | escalated | deflected "
            "| automated resolution | CSAT |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row, last in rows:
            out.append(
                f"| {_cell(row.key)} | {row.conversations} | {'-' if last is None else last} "
                f"| {percent(row.escalation.value)} | {percent(row.deflection.value)} "
                f"| {percent(row.automated_resolution.value)} "
                f"| {'-' if row.csat.value is None else row.csat.value} |"
            )
    out += ["", "## Top failure intents", *_owned(owner(data, "failures")), ""]
    if data.failures:
        out += ["| intent | failed | conversations | examples |", "| --- | ---: | ---: | --- |"]
        for f in data.failures:
            ids = ", ".join(f"#{i}" for i in f.ids[:5])
            out.append(f"| {_cell(f.intent)} | {f.failed} | {f.conversations} | {ids} |")
    else:
        out.append("No conversation failed this week.")
    out += ["", "## Content gaps", *_owned(owner(data, "gaps")), ""]
    out += _gaps(data)
    out += ["", "## Conversations to calibrate", *_owned(owner(data, "calibration"))]
    out += ["", CALIBRATION_RULE, ""]
    out += _calibration("Escalated", data.escalated)
    out += _calibration("Handled by the bot alone", data.bot_only)
    out += ["## Change log", *_owned(owner(data, "changes")), ""]
    if data.changes:
        for entry in data.changes:
            who = f" ({entry.author})" if entry.author else ""
            version = f" [brief {entry.brief_version}]" if entry.brief_version else ""
            out.append(
                f"- {entry.created_at:%a %d %b %H:%M} UTC, {entry.kind}{who}: "
                f"{_cell(entry.summary)}{version}"
            )
    else:
        out.append("Nothing changed this week.")
    return "\n".join(out) + "\n"


def _owned(line: str) -> list[str]:
    """The paragraph naming owners, after a blank line; nothing without one."""
    return ["", line] if line else []


def _gaps(data: WeeklyReview) -> list[str]:
    if data.gap_method is None:
        return ["Not looked for in this report."]
    if not data.gaps:
        return [f"{data.unanswered} messages the bot could not answer; no group of 3 or more."]
    lines = [
        f"{data.unanswered} messages the bot could not answer, grouped by meaning "
        f"({data.gap_method}); groups of 3 or more:",
        "",
        "| candidate intent | messages | why | examples |",
        "| --- | ---: | --- | --- |",
    ]
    for gap in data.gaps[:15]:
        why = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in gap.reasons.items())
        examples = "; ".join(f"“{_cell(e)}”" for e in gap.examples[:3])
        lines.append(f"| {gap.name} | {gap.count} | {why} | {examples} |")
    return lines


def _calibration(title: str, items: list[Calibrate]) -> list[str]:
    lines = [f"### {title}", ""]
    if not items:
        return [*lines, "None this week.", ""]
    for item in items:
        c = item.conversation
        lines.append(
            f"- #{c.id} ({c.intent or 'no intent'}, {c.status}, "
            f"{c.created_at:%a %d %b %H:%M} UTC): {item.why}"
        )
    return [*lines, ""]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
