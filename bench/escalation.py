"""Escalation quality on labelled conversations: who gets a person, who does not.

    python -m bench.escalation [--split dev|test|all] [--data DIR] [--json] [--misses]

Plays each conversation in `bench/data/escalation/{dev,test}.jsonl` turn by turn through the
decision code the webhook path uses (`BriefDecider.understand_many`, then `decide`, the
conversation's status and dialogue carried from one turn to the next as `services.inbound`
stores them), with the bundled brief and a frozen clock (a Tuesday, 11:00 in Madrid, inside
business hours). Reports, per split: escalation recall (conversations that need a person and
got one), false-escalation rate (conversations that did not need one and got one), both per
topic and per language, cancellations honoured (a customer taking a pending handoff back),
and how many customer messages got their expected action.

Each line of the data is one conversation: {"id", "language", "needs_person", "topic",
"turns": [{"say": text, "expect": answer|escalate|cancel|silent|ignore|no_escalation|any}]}.
The `dev` half was used to tune the rules; the `test` half was not.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Decision
from relaydesk.services.decider import BriefDecider

DATA = Path(__file__).parent / "data" / "escalation"
SPLITS = ("dev", "test")
#: Tuesday 3 March 2026, 11:00 in Madrid: open, so no turn depends on business hours.
CLOCK = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
TURN_GAP = timedelta(minutes=1)
EXPECTATIONS = ("answer", "escalate", "cancel", "silent", "ignore", "no_escalation", "any")


@dataclass(frozen=True, slots=True)
class Played:
    """One conversation after playing it: what each turn got, and the verdicts."""

    conversation: dict[str, Any]
    decisions: tuple[Decision, ...]

    @property
    def escalated(self) -> bool:
        return any(d.action is Action.ESCALATE for d in self.decisions)

    @property
    def correct(self) -> bool:
        return self.escalated == bool(self.conversation["needs_person"])

    def turn_results(self) -> list[tuple[str, str, bool]]:
        """(text, expected, met) per customer message."""
        return [
            (turn["say"], turn["expect"], met(turn["expect"], decision))
            for turn, decision in zip(self.conversation["turns"], self.decisions, strict=True)
        ]


def met(expected: str, decision: Decision) -> bool:
    """Whether `decision` is what the label `expected` asks for."""
    cancelled = any(t.type == "handoff_cancelled" for t in decision.triggers)
    match expected:
        case "cancel":
            return cancelled
        case "no_escalation":
            return decision.action is not Action.ESCALATE
        case "any":
            return True
        case "answer":
            return decision.action is Action.ANSWER and not cancelled
        case _:
            return decision.action.value == expected


def load(path: Path) -> list[dict[str, Any]]:
    """The conversations in a JSONL file, checked; a bad line names the file and line."""
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            turns = record["turns"]
            if not turns or any(t["expect"] not in EXPECTATIONS for t in turns):
                raise ValueError(f"every turn needs `say` and `expect` ({', '.join(EXPECTATIONS)})")
            record["needs_person"] = bool(record["needs_person"])
        except (ValueError, KeyError, TypeError) as error:
            sys.exit(f"{path}:{number}: not a conversation ({error!r}); see bench/escalation.py")
        conversations.append(record)
    return conversations


def play(decider: BriefDecider, conversation: dict[str, Any], number: int) -> Played:
    """Send the customer's turns one by one, as the webhook path would."""
    state = ConversationState(number, ConversationStatus.BOT, None)
    decisions = []
    for index, turn in enumerate(conversation["turns"]):
        now = CLOCK + index * TURN_GAP
        message = InboundMessage(
            wamid=f"wamid.{conversation['id']}.{index}",
            phone_number_id="PN",
            sender=Sender(wa_id=f"34600{number:06d}"),
            sent_at=now,
            type="text",
            text=turn["say"],
        )
        (understanding,) = decider.understand_many([message])
        state = replace(state, last_inbound_at=now)
        outcome = decider.decide(state, message, understanding, {}, now)
        decision = outcome.decision
        route = decision.route
        state = replace(
            state,
            status=decision.status_after or state.status,
            queue=route.queue if route else state.queue,
            priority=route.priority if route else state.priority,
            tier=route.tier if route else state.tier,
            dialogue=outcome.dialogue,
        )
        decisions.append(decision)
    return Played(conversation, tuple(decisions))


@dataclass
class Tally:
    need: int = 0
    escalated_need: int = 0
    other: int = 0
    escalated_other: int = 0

    def add(self, played: Played) -> None:
        if played.conversation["needs_person"]:
            self.need += 1
            self.escalated_need += played.escalated
        else:
            self.other += 1
            self.escalated_other += played.escalated

    def as_dict(self) -> dict[str, Any]:
        return {
            "need_person": self.need,
            "escalated": self.escalated_need,
            "recall": _ratio(self.escalated_need, self.need),
            "no_person": self.other,
            "falsely_escalated": self.escalated_other,
            "false_escalation_rate": _ratio(self.escalated_other, self.other),
        }


@dataclass
class Report:
    split: str
    overall: Tally = field(default_factory=Tally)
    by_topic: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_language: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    cancels: int = 0
    honoured: int = 0
    turns: int = 0
    turns_met: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, played: Played) -> None:
        conversation = played.conversation
        for tally in (
            self.overall,
            self.by_topic[conversation["topic"]],
            self.by_language[conversation["language"]],
        ):
            tally.add(played)
        results = played.turn_results()
        self.turns += len(results)
        self.turns_met += sum(ok for _, _, ok in results)
        for _, expected, ok in results:
            if expected == "cancel":
                self.cancels += 1
                self.honoured += ok
        if not played.correct or not all(ok for _, _, ok in results):
            self.misses.append(
                {
                    "id": conversation["id"],
                    "needs_person": conversation["needs_person"],
                    "escalated": played.escalated,
                    "turns": [
                        {"say": text, "expect": expected, "got": _said(decision), "met": ok}
                        for (text, expected, ok), decision in zip(
                            results, played.decisions, strict=True
                        )
                    ],
                }
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "conversations": self.overall.need + self.overall.other,
            **self.overall.as_dict(),
            "cancellations": self.cancels,
            "cancellations_honoured": self.honoured,
            "messages": self.turns,
            "messages_as_expected": self.turns_met,
            "by_topic": {k: v.as_dict() for k, v in sorted(self.by_topic.items())},
            "by_language": {k: v.as_dict() for k, v in sorted(self.by_language.items())},
        }


def _said(decision: Decision) -> str:
    triggers = ",".join(t.type for t in decision.triggers)
    intent = f" {decision.intent}" if decision.intent else ""
    return f"{decision.action.value}{intent}" + (f" [{triggers}]" if triggers else "")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate(decider: BriefDecider, split: str, conversations: Iterable[dict[str, Any]]) -> Report:
    report = Report(split)
    for number, conversation in enumerate(conversations, 1):
        report.add(play(decider, conversation, number))
    return report


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


def show(report: Report, misses: bool) -> None:
    data = report.as_dict()
    print(
        f"\n== {report.split}: {data['conversations']} conversations, "
        f"{data['messages']} customer messages"
    )
    print(
        f"  escalation recall      {_pct(data['recall'])}  "
        f"({data['escalated']}/{data['need_person']} that need a person)"
    )
    print(
        f"  false escalations      {_pct(data['false_escalation_rate'])}  "
        f"({data['falsely_escalated']}/{data['no_person']} that do not)"
    )
    print(f"  cancellations honoured {data['cancellations_honoured']}/{data['cancellations']}")
    print(f"  messages as expected   {data['messages_as_expected']}/{data['messages']}")
    for title, key in (("topic", "by_topic"), ("language", "by_language")):
        print(f"  {'by ' + title:<24} recall    false escalations")
        for name, row in data[key].items():
            print(
                f"    {name:<22} {_pct(row['recall'])} ({row['escalated']}/{row['need_person']})"
                f"  {_pct(row['false_escalation_rate'])} "
                f"({row['falsely_escalated']}/{row['no_person']})"
            )
    if misses:
        for miss in report.misses:
            print(f"  MISS {miss['id']} needs_person={miss['needs_person']}")
            for turn in miss["turns"]:
                mark = " " if turn["met"] else "!"
                print(f"   {mark} {turn['say']!r} expect {turn['expect']}, got {turn['got']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--data", type=Path, default=DATA, help="directory of <split>.jsonl")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--misses", action="store_true", help="list every conversation missed")
    args = parser.parse_args()
    decider = BriefDecider.from_brief(load_brief(EXAMPLE_BRIEF))
    splits = SPLITS if args.split == "all" else (args.split,)
    reports = [evaluate(decider, s, load(args.data / f"{s}.jsonl")) for s in splits]
    if args.json:
        payload = {"brief": decider.brief.version, "splits": [r.as_dict() for r in reports]}
        if args.misses:
            payload["misses"] = [m for r in reports for m in r.misses]
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    print(f"escalation quality, bundled brief {decider.brief.version}")
    for report in reports:
        show(report, args.misses)


if __name__ == "__main__":
    main()
