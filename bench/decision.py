"""Decision latency per message: understanding + policy, one message at a time.

    python -m bench.decision [--backend tfidf] [--messages 2000] [--option NAME=VALUE ...]

Runs the bundled brief's pipeline (the brief's classifier, the detectors, the policy) and,
in the same run, the same pipeline with the reference TF-IDF+LR classifier (`tfidf-baseline`)
as the baseline, on realistic messages (the brief's own examples, shuffled, with typos), and
prints p50/p90/p99 in milliseconds and the ratio to the baseline. The default backend's
MiniLM cache (texts encoded in training) is emptied after training, so messages that repeat
an example are encoded again as a new message would be."""

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
from relaydesk.nlu import minilm
from relaydesk.nlu.backends import BackendOptionError, build, check_options
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


def run(
    backend: str, sample: list[InboundMessage], options: dict[str, str] | None = None
) -> list[float]:
    brief = load_brief(EXAMPLE_BRIEF)
    classifier = build(backend, options)
    understander = Understander.trained(brief, classifier)
    encoder = minilm.load_default() if minilm.load_default.cache_info().currsize else None
    if encoder is not None:  # the sample repeats the brief's examples: time real encoding
        encoder.forget()
    state = ConversationState(1, ConversationStatus.BOT, datetime.now(UTC))
    timings = []
    for message in sample:
        started = time.perf_counter()
        (understanding,) = understander.understand_many([message])
        view = policy.MessageView(message.type, message.text, None, message.sent_at)
        policy.step(state, view, understanding, brief, message.sent_at, DialogueState())
        timings.append((time.perf_counter() - started) * 1000)
    encoded = getattr(classifier, "encoded_messages", 0)
    if getattr(classifier, "uses_embeddings", False):
        print(f"  ({backend}: MiniLM encoder ran on {encoded / len(sample):.1%} of the messages)")
    return timings


def report(name: str, timings: list[float]) -> float:
    q = statistics.quantiles(timings, n=100)
    print(f"  {name:<16} p50 {q[49]:6.3f} ms   p90 {q[89]:6.3f} ms   p99 {q[98]:6.3f} ms")
    return q[49]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tfidf", help="the backend to measure")
    parser.add_argument("--messages", type=int, default=2000, help="messages per pipeline")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a backend option, e.g. --option semantic=false (repeatable)",
    )
    args = parser.parse_args()
    options = dict(option.partition("=")[::2] for option in args.option)
    try:
        check_options(args.backend, options)
    except BackendOptionError as error:
        sys.exit(str(error))
    sample = messages(args.messages)
    print(f"decision latency, {args.messages} messages, one at a time (understanding + policy)")
    baseline = report("tfidf-baseline", run("tfidf-baseline", sample))
    measured = report(args.backend, run(args.backend, sample, options))
    print(f"  ratio p50 {args.backend} / baseline: {measured / baseline:.2f}")


if __name__ == "__main__":
    main()
