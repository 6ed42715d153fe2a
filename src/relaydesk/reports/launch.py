"""The pre-launch report in three forms: a terminal table, JSON, and one self-contained
HTML page with charts (inline SVG and CSS: it opens with no network)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from relaydesk.brief.schema import Brief
from relaydesk.domain import launch
from relaydesk.services.launch_check import LaunchReport

_TEMPLATES = Path(__file__).parent / "templates"


def as_json(report: LaunchReport, brief: Brief) -> dict[str, Any]:
    gates = brief.rollout.launch
    verdict = report.verdict
    return {
        "ready": report.ready,
        "brief_version": report.brief_version,
        "conversations": report.conversations,
        "customer_turns": report.customer_turns,
        "gates": gates.model_dump(),
        "intents": [
            {
                "intent": i.intent,
                "samples": i.samples,
                "ready": i.ready,
                **{d: _round(i.rates[d]) for d in launch.DIMENSIONS},
                "failures": list(i.failures),
            }
            for i in verdict.intents
        ],
        "missed_escalations": list(verdict.missed_escalations),
        "remedies": [
            {
                "intent": r.intent,
                "pattern": r.pattern,
                "count": r.count,
                "examples": list(r.examples),
                "fix": r.fix,
            }
            for r in verdict.remedies
        ],
        "agreement": [
            {"dimension": a.dimension, "rated": a.rated, "kappa": _round(a.kappa), "same": a.same}
            for a in report.agreement
        ],
        "actions": dict(Counter(s.turn.action for s in report.scored)),
        "escalations_by_queue": dict(
            Counter(s.turn.queue for s in report.scored if s.turn.escalated and s.turn.queue)
        ),
        "turns": [_turn(s) for s in report.scored],
    }


def _turn(item: launch.ScoredTurn) -> dict[str, Any]:
    turn = item.turn
    return {
        "conversation_id": turn.conversation_id,
        "turn": turn.turn,
        "source": turn.source,
        "text": turn.text,
        "action": turn.action,
        "intent": turn.intent,
        "confidence": _round(turn.confidence),
        "triggers": list(turn.triggers),
        "replies": list(turn.replies),
        "buttons": list(turn.buttons),
        "queue": turn.queue,
        "priority": turn.priority,
        "expected": {
            "needs_human": item.expected.needs_human,
            "intent": item.expected.intent,
            "queue": item.expected.queue,
            "basis": item.expected.basis,
        },
        "rated_by_person": item.rated,
        **{
            d: None if (s := getattr(item, d)) is None else {"score": s.value, "reason": s.reason}
            for d in launch.DIMENSIONS
        },
    }


def table_rows(report: LaunchReport) -> list[list[str]]:
    return [
        [
            i.intent,
            str(i.samples),
            *(_percent(i.rates[d]) for d in launch.DIMENSIONS),
            "ready" if i.ready else "; ".join(i.failures),
        ]
        for i in report.verdict.intents
    ]


TABLE_HEADER = ["intent", "samples", "accuracy", "tone", "actionability", "verdict"]


def render_html(report: LaunchReport, brief: Brief, data: dict[str, Any] | None = None) -> str:
    """The HTML page; `data` is the report's JSON when the caller has it (with any
    `what_if` section, which the page shows too)."""
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = _percent
    data = data if data is not None else as_json(report, brief)
    failing = [t for t in data["turns"] if _failed(t)]
    return env.get_template("launch.html").render(
        report=data,
        business=brief.business.name,
        bars=_bars(data["intents"], brief),
        failing=failing[:200],
        failing_total=len(failing),
    )


def _bars(intents: list[dict[str, Any]], brief: Brief) -> list[dict[str, Any]]:
    """One row of three bars (accuracy, tone, actionability) per intent, with the gates."""
    gates = brief.rollout.launch
    return [
        {
            "intent": i["intent"],
            "ready": i["ready"],
            "samples": i["samples"],
            "values": [
                {"name": d, "value": i[d], "gate": getattr(gates, d)} for d in launch.DIMENSIONS
            ],
        }
        for i in intents
    ]


def _failed(turn: dict[str, Any]) -> bool:
    return any(turn[d] is not None and turn[d]["score"] < 2 for d in launch.DIMENSIONS)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
