"""Language identification of short chat messages: the library's default beside the
restriction and short-message strategy Relaydesk uses (`nlu.language.LanguageDetector`).

    python -m bench.language [--data FILE] [--misses]

`bench/data/language/short_messages.tsv` holds 42 customer messages of 3-10 words in each
of the seven languages the NLU reads (en, es, pt, fr, de, it, id), written for this
benchmark: order and refund questions, greetings, thanks, "yes please", vague ones. Three
ways, in the same run:

- default: py3langid as shipped (the likeliest of its 97 languages);
- restricted: the same model restricted to the seven languages;
- relaydesk: `LanguageDetector` (restricted, links/numbers/emoji and words of every
  language removed, one-word greetings looked up). A message it declines to guess counts
  as wrong.

Prints accuracy overall and per language, and microseconds per message.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from relaydesk.nlu.language import NLU_LANGUAGES, LanguageDetector, _identifier

DATA = Path(__file__).parent / "data" / "language" / "short_messages.tsv"


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["language"], row["text"]) for row in csv.DictReader(handle, delimiter="\t")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--misses", action="store_true", help="list every wrong guess")
    args = parser.parse_args(argv)
    rows = load(args.data)
    detector = LanguageDetector(NLU_LANGUAGES)
    default, restricted = _identifier(None), _identifier(tuple(sorted(NLU_LANGUAGES)))

    def ours(text: str) -> str | None:
        guess = detector.detect(text)
        return guess.language if guess else None

    ways: dict[str, Callable[[str], str | None]] = {
        "default (97 languages)": lambda text: str(default.classify(text)[0]),
        "restricted to the seven": lambda text: str(restricted.classify(text)[0]),
        "relaydesk (restricted + strategy)": ours,
    }
    languages = sorted({language for language, _ in rows})
    print(f"{len(rows)} messages, {len(languages)} languages ({', '.join(languages)})")
    print(f"| way | accuracy | {' | '.join(languages)} | µs/message |")
    print(f"|---|---|{'---|' * len(languages)}---|")
    for name, guess in ways.items():
        right: dict[str, int] = defaultdict(int)
        misses = []
        started = time.perf_counter()
        got = [guess(text) for _, text in rows]
        micros = (time.perf_counter() - started) / len(rows) * 1e6
        for (language, text), found in zip(rows, got, strict=True):
            if found == language:
                right[language] += 1
            else:
                misses.append((language, found, text))
        total = sum(right.values()) / len(rows)
        per = [
            f"{right[lang] / sum(1 for code, _ in rows if code == lang):.1%}" for lang in languages
        ]
        print(f"| {name} | **{total:.1%}** | {' | '.join(per)} | {micros:.0f} |")
        if args.misses:
            for language, found, text in misses:
                print(f"    {language} -> {found}: {text}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
