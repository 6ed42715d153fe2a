"""The pre-launch replay at scale: `relaydesk replay` on a synthetic history of everyday
conversations, timed against the understanding alone on the same texts.

    python -m bench.replay --conversations 10000 [--output bench/results/replay.json]

The history: `--conversations` conversations of one to six customer turns drawn from the
everyday mix of `bench.webhooks` (greetings, order questions with and without numbers,
vague and unsure messages, thanks, requests for a person, emoji) with the business's
replies between them and labels on a fifth of the customer turns, about four customer
turns per conversation on average. Measured, in this order and on the same machine:

1. baseline: the brief's classifier trained and run once over each distinct customer text
   in batches (`BriefDecider.understand_many`), which the replay cannot avoid;
2. `relaydesk replay FILE --json --html` as a subprocess, as a user runs it (reading,
   training, replaying, scoring, clustering, writing the reports): wall time and the
   peak resident memory of the process.

The ratio of 2 to 1 is what replaying, scoring and reporting add to the model work.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import _mix
from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.channel import InboundMessage, Sender

SEED = 9  #: issue 9
#: what people add to a message, so that longer messages are mostly distinct (as they are
#: in a real history) while "hi" and "thanks" repeat
CONTEXT = [
    "it was a present for my mum",
    "I ordered on {day}",
    "the courier said {day}",
    "I paid with paypal",
    "this is my second message about it",
    "my name is {name}",
    "the parcel number is {n}",
    "I'm in {city}",
    "please answer soon",
    "I have been waiting since {day}",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "the weekend", "last week"]
NAMES = ["Ana", "Luis", "Marta", "John", "Fatima", "Wei", "Olga", "Pedro", "Amir", "Sofia"]
CITIES = ["Madrid", "Valencia", "Bilbao", "Sevilla", "Lisbon", "Porto", "Malaga", "Zaragoza"]


def history_rows(conversations: int) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    kinds = [k for k in _mix.MIX if k.texts]
    weights = [k.weight for k in kinds]
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    rows: list[dict[str, object]] = []
    for number in range(conversations):
        cid = f"bench-{number:06d}"
        at = start + timedelta(minutes=number * 3)
        for _ in range(rng.choice((1, 2, 3, 4, 5, 6, 4, 5))):
            kind = rng.choices(kinds, weights)[0]
            text = rng.choice(kind.texts).format(n=rng.randint(10000, 99999))
            if len(text) > 12 and rng.random() < 0.7:
                extra = rng.choice(CONTEXT).format(
                    day=rng.choice(DAYS),
                    name=rng.choice(NAMES),
                    n=rng.randint(100000, 999999),
                    city=rng.choice(CITIES),
                )
                text = f"{text} {extra}"
            row: dict[str, object] = {
                "conversation_id": cid,
                "time": at.isoformat().replace("+00:00", "Z"),
                "author": "customer",
                "text": text,
            }
            if rng.random() < 0.2:
                row["needs_human"] = kind.name == "person"
            rows.append(row)
            at += timedelta(seconds=rng.randint(20, 200))
            person = kind.name == "person"
            rows.append(
                {
                    "conversation_id": cid,
                    "time": at.isoformat().replace("+00:00", "Z"),
                    "author": "agent" if person else "bot",
                    "text": "Marta here, I'm on it." if person else "Here: https://x.test/help",
                }
            )
            at += timedelta(seconds=rng.randint(20, 200))
    return rows


def baseline(texts: list[str]) -> float:
    """Seconds to train the brief's classifier and understand each distinct text of `texts`
    once, in batches of 256 (what any replay of them must do)."""
    from relaydesk.services.decider import BriefDecider

    started = time.perf_counter()
    decider = BriefDecider.from_brief(load_brief(EXAMPLE_BRIEF))
    now = datetime.now(UTC)
    messages = [
        InboundMessage(f"b.{n}", "bench", Sender(wa_id="b"), now, "text", text)
        for n, text in enumerate(dict.fromkeys(texts))
    ]
    for first in range(0, len(messages), 256):
        decider.understand_many(messages[first : first + 256])
    return time.perf_counter() - started


def replay_run(history: Path, out: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of `relaydesk replay` on `history`."""
    command = [
        sys.executable,
        "-m",
        "relaydesk",
        "replay",
        str(history),
        "--json",
        str(out / "report.json"),
        "--html",
        str(out / "report.html"),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, stdin=subprocess.DEVNULL, env={**os.environ}, check=False)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--output", type=Path, help="write the figures here (JSON)")
    args = parser.parse_args()
    if args.conversations < 1:
        parser.error(f"--conversations {args.conversations}: give at least 1")
    rows = history_rows(args.conversations)
    texts = [str(r["text"]) for r in rows if r["author"] == "customer"]
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.jsonl"
        history.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        print(
            f"{args.conversations} conversations, {len(texts)} customer turns, "
            f"{len(set(texts))} distinct texts",
            flush=True,
        )
        base = baseline(texts)
        print(f"baseline (train + understand every turn): {base:.1f} s", flush=True)
        wall, peak, code = replay_run(history, Path(tmp))
        if code not in (0, 1):
            sys.exit(f"relaydesk replay failed with exit code {code}")
    figures = {
        "conversations": args.conversations,
        "customer_turns": len(texts),
        "distinct_texts": len(set(texts)),
        "baseline_seconds": round(base, 2),
        "replay_seconds": round(wall, 2),
        "ratio_to_baseline": round(wall / base, 2),
        "turns_per_second": round(len(texts) / wall),
        "peak_rss_mib": round(peak),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
