"""Knowledge-base retrieval quality and cost, on the bundled example's articles.

    python -m bench.knowledge_base [--questions bench/data/knowledge_base/questions.csv]
                                   [--messages 1000]

Questions (`question,article,kind`: paraphrases, typos, Spanish, vague ones) written for
the example shop's articles (`src/relaydesk/brief/examples/kb`), each with the one article
that answers it (language variant included: a Spanish question must find the Spanish
article). In the same run:

- recall@1 and recall@3 of the combined search (BM25 + character n-grams + MiniLM, as
  the bot runs it), of the same without embeddings, and of BM25 alone (the baseline);
- what the brief's thresholds do with them: answered (and how often rightly), offered as
  a list (and how often the right article is in it), left to the policy;
- decision latency (understanding + policy, one message at a time) for confident messages
  (the brief's own examples, drawn at random, that an intent answers at or above its
  threshold), with the knowledge base and without it, interleaved message by message
  so that both see the same machine load (the example brief's `payment_methods` answers
  from its article, so those messages do search it); and the cost of a knowledge-base
  lookup alone and of a whole decision that searches it. The MiniLM cache is emptied
  before each message, so each is encoded as a new message would be."""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from relaydesk.adapters import knowledge_base as files
from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import policy
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.nlu import minilm
from relaydesk.nlu.backends import build
from relaydesk.nlu.knowledge import KnowledgeIndex
from relaydesk.services.understanding import Understander

QUESTIONS = Path(__file__).parent / "data" / "knowledge_base" / "questions.csv"


@dataclass(frozen=True)
class Pair:
    question: str
    article: str
    kind: str


def read_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        return [Pair(row["question"], row["article"], row["kind"]) for row in rows]


def recall(index: KnowledgeIndex, pairs: list[Pair]) -> dict[str, tuple[float, float, int]]:
    """kind (and "all") -> (recall@1, recall@3, count)."""
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for pair in pairs:
        ranked = [r.hit.article for r in index.search(pair.question, top=3)]
        result = (ranked[:1] == [pair.article], pair.article in ranked)
        hits[pair.kind].append(result)
        hits["all"].append(result)
    return {
        kind: (
            sum(a for a, _ in rows) / len(rows),
            sum(b for _, b in rows) / len(rows),
            len(rows),
        )
        for kind, rows in hits.items()
    }


def thresholds(index: KnowledgeIndex, pairs: list[Pair], answer: float, suggest: float) -> str:
    answered = right = offered = in_list = 0
    for pair in pairs:
        ranked = index.search(pair.question, top=3)
        best = ranked[0].hit.probability
        if best >= answer:
            answered += 1
            right += ranked[0].hit.article == pair.article
        elif best >= suggest:
            offered += 1
            in_list += pair.article in [r.hit.article for r in ranked]
    n = len(pairs)
    return (
        f"answered {answered}/{n} ({answered / n:.0%}; right {right}/{answered}), "
        f"list {offered}/{n} (right article in it {in_list}/{offered}), "
        f"left to the policy {n - answered - offered}/{n}"
    )


def quantiles(timings: list[float]) -> str:
    q = statistics.quantiles(timings, n=100)
    return f"p50 {q[49]:.2f} ms, p90 {q[89]:.2f} ms, p99 {q[98]:.2f} ms (n={len(timings)})"


def latency(
    messages: int, pairs: list[Pair]
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Decision ms of confident messages (an intent at or above its threshold) with the
    knowledge base and, interleaved message by message, without it (the same understander
    with its knowledge base unset); lookup ms per question; decision ms of the questions
    that search the knowledge base."""
    brief = load_brief(EXAMPLE_BRIEF)
    understander = Understander.trained(brief, build(brief.nlu.backend))
    knowledge = understander.knowledge
    if knowledge is None:
        raise SystemExit("the example brief has no knowledge base")
    encoder = minilm.load_default()
    rng = random.Random(0)
    texts = [t for intent in brief.intents.values() for t in intent.examples]
    now = datetime.now(UTC)
    state = ConversationState(1, ConversationStatus.BOT, now)

    def decide(text: str, number: int) -> tuple[float, Understanding]:
        message = InboundMessage(f"w{number}", "PN", Sender(wa_id="34600000000"), now, "text", text)
        if encoder is not None:  # time encoding as for a new message
            encoder.forget()
        started = time.perf_counter()
        (understanding,) = understander.understand_many([message])
        view = policy.MessageView("text", text, None, now)
        policy.step(state, view, understanding, brief, now, DialogueState())
        return (time.perf_counter() - started) * 1000, understanding

    with_kb, without_kb = [], []
    for number in range(messages):
        text = rng.choice(texts)
        understander.knowledge = None
        took_without, understood = decide(text, number)
        understander.knowledge = knowledge
        took_with, _ = decide(text, number)
        intent = understood.intent
        if (
            intent in brief.intents
            and not understood.out_of_scope
            and understood.confidence >= brief.confidence_threshold(intent)
        ):
            with_kb.append(took_with)
            without_kb.append(took_without)
    lookups, through = [], []
    index = knowledge.current()
    for number, pair in enumerate(pairs):
        if encoder is not None:
            encoder.forget()
        started = time.perf_counter()
        index.search(pair.question)
        lookups.append((time.perf_counter() - started) * 1000)
        took, understood = decide(pair.question, messages + number)
        if understood.knowledge:
            through.append(took)
    return with_kb, without_kb, lookups, through


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--messages", type=int, default=1000, help="confident messages timed")
    args = parser.parse_args()
    threadpool_limits(limits=1)  # as the decision stage runs (bootstrap.Container.decisions)
    pairs = read_pairs(args.questions)
    brief = load_brief(EXAMPLE_BRIEF)
    settings = brief.knowledge_base
    folder = brief.knowledge_base_folder
    if settings is None or folder is None:
        raise SystemExit("the example brief has no knowledge base")
    loaded = files.load(folder)
    encoder = minilm.load_default()
    print(
        f"{len(pairs)} questions, {len(loaded.articles)} articles "
        f"({sum(len(a.passages) for a in loaded.articles)} passages), KB {loaded.version}, "
        f"MiniLM {'found' if encoder else 'NOT found: combined = lexical'}"
    )
    started = time.perf_counter()
    combined = KnowledgeIndex(loaded.articles, loaded.version, encoder=encoder)
    built = time.perf_counter() - started
    print(f"index built in {built:.1f} s (MiniLM encodes every passage once)")
    lexical = KnowledgeIndex(loaded.articles, loaded.version)
    bm25 = KnowledgeIndex(loaded.articles, loaded.version, lexical_only=True)
    for name, index in (
        ("combined", combined),
        ("no embeddings", lexical),
        ("BM25 only", bm25),
    ):
        rows = recall(index, pairs)
        print(f"\n{name}: temperature {index.temperature:.4f}, null score {index.null_score:.3f}")
        for kind in ("all", *sorted(k for k in rows if k != "all")):
            r1, r3, n = rows[kind]
            print(f"  {kind:<11} recall@1 {r1:6.1%}  recall@3 {r3:6.1%}  (n={n})")
        print(
            f"  thresholds {settings.answer_threshold}/{settings.suggest_threshold}: "
            + thresholds(index, pairs, settings.answer_threshold, settings.suggest_threshold)
        )
    with_kb, without_kb, lookups, through = latency(args.messages, pairs)
    print(f"\ndecision, confident messages, with the knowledge base: {quantiles(with_kb)}")
    print(f"decision, the same messages without a knowledge base: {quantiles(without_kb)}")
    print(f"knowledge-base lookup alone (new text, MiniLM cache empty): {quantiles(lookups)}")
    if len(through) >= 2:
        print(f"decision, messages that search the knowledge base: {quantiles(through)}")


if __name__ == "__main__":
    main()
