"""Decision latency per message: understanding + policy, one message at a time.

    python -m bench.decision [--backend tfidf] [--messages 2000]

Runs the bundled brief's pipeline (the brief's classifier, the detectors, the policy) and,
in the same run, the same pipeline with the reference TF-IDF+LR classifier (`tfidf-baseline`)
as the baseline, on realistic messages (the brief's own examples, shuffled, with typos), and
prints p50/p90/p99 in milliseconds and the ratio to the baseline."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import policy
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.dialogue import DialogueState
from relaydesk.nlu.backends import BACKENDS
from relaydesk.services.understanding import Understander


def messages(count: int, seed: int = 0) -> list[InboundMessage]:
    brief = load_brief(EXAMPLE_BRIEF)
    rng = random.Random(seed)
    texts = [t for intent in brief.intents.values() for t in intent.examples]
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        text = rng.choice(texts)
        if rng.random() < 0.3 and len(text) > 4:  # a typo, as people type
            j = rng.randrange(len(text) - 1)
            text = text[:j] + text[j + 1] + text[j] + text[j + 2 :]
        out.append(
            InboundMessage(
                wamid=f"wamid.{i}",
                phone_number_id="PN",
                sender=Sender(wa_id=f"34{i:09d}"),
                sent_at=now,
                type="text",
                text=text,
            )
        )
    return out


def run(backend: str, sample: list[InboundMessage]) -> list[float]:
    brief = load_brief(EXAMPLE_BRIEF)
    understander = Understander.trained(brief, BACKENDS[backend]())
    state = ConversationState(1, ConversationStatus.BOT, datetime.now(UTC))
    timings = []
    for message in sample:
        started = time.perf_counter()
        (understanding,) = understander.understand_many([message])
        view = policy.MessageView(message.type, message.text, None, message.sent_at)
        policy.step(state, view, understanding, brief, message.sent_at, DialogueState())
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(name: str, timings: list[float]) -> float:
    q = statistics.quantiles(timings, n=100)
    print(f"  {name:<16} p50 {q[49]:6.3f} ms   p90 {q[89]:6.3f} ms   p99 {q[98]:6.3f} ms")
    return q[49]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tfidf", help="the backend to measure")
    parser.add_argument("--messages", type=int, default=2000, help="messages per pipeline")
    args = parser.parse_args()
    if args.backend not in BACKENDS:
        sys.exit(f"unknown backend {args.backend!r}; choose one of {', '.join(BACKENDS)}")
    sample = messages(args.messages)
    print(f"decision latency, {args.messages} messages, one at a time (understanding + policy)")
    baseline = report("tfidf-baseline", run("tfidf-baseline", sample))
    measured = report(args.backend, run(args.backend, sample))
    print(f"  ratio p50 {args.backend} / baseline: {measured / baseline:.2f}")


if __name__ == "__main__":
    main()
