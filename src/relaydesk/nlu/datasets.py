"""Labelled-text loaders: `text,label` CSV, CLINC150 JSON, and a k-shot sampler."""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from relaydesk.nlu.intent import OOS

#: accepted names of the label column, in order of preference (BANKING77 uses `category`)
LABEL_COLUMNS = ("label", "intent", "category")


class DatasetError(ValueError):
    """A data file is missing or malformed; the message names the file, line and fix."""


@dataclass(frozen=True, slots=True)
class Labelled:
    texts: list[str]
    labels: list[str]
    #: line numbers of rows skipped because their text was empty (public sets have a few)
    skipped: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: Labelled) -> Labelled:
        return Labelled(self.texts + other.texts, self.labels + other.labels)

    def without(self, label: str) -> Labelled:
        """A copy without the examples labelled `label`."""
        return _subset(self, [i for i, y in enumerate(self.labels) if y != label])


def load_csv(path: str | Path) -> Labelled:
    """Read a CSV with a header row holding `text` and a label column (`label`, `intent` or
    `category`); extra columns are ignored. Quoted newlines inside texts are allowed.
    Rows with an empty text are skipped and their line numbers kept in `skipped`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; pass the path of a `text,label` CSV")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        label_column = next((name for name in LABEL_COLUMNS if name in header), None)
        if "text" not in header or label_column is None:
            raise DatasetError(
                f"{path}:1: header is {','.join(header) or '(empty)'}; expected a header row "
                f"with a `text` column and one of: {', '.join(LABEL_COLUMNS)}"
            )
        text_at, label_at = header.index("text"), header.index(label_column)
        texts: list[str] = []
        labels: list[str] = []
        skipped: list[int] = []
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise DatasetError(
                    f"{path}:{line}: {len(row)} fields, the header has {len(header)}; "
                    "quote texts that contain commas"
                )
            text, label = row[text_at].strip(), row[label_at].strip()
            if not label:
                raise DatasetError(
                    f"{path}:{line}: empty {label_column}; fill it in or drop the row"
                )
            if not text:
                skipped.append(line)
                continue
            texts.append(text)
            labels.append(label)
    if not texts:
        raise DatasetError(f"{path}: no rows after the header")
    return Labelled(texts, labels, tuple(skipped))


def load_clinc150(path: str | Path) -> dict[str, Labelled]:
    """CLINC150 JSON (e.g. `data_full.json`) -> {"train", "val", "test"}; each split holds
    its in-scope queries followed by its out-of-scope ones, labelled `OOS`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; pass CLINC150's data_full.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    splits: dict[str, Labelled] = {}
    for split in ("train", "val", "test"):
        if split not in data or f"oos_{split}" not in data:
            raise DatasetError(
                f"{path}: missing key {split!r} or 'oos_{split}'; expected CLINC150's "
                "train/val/test/oos_train/oos_val/oos_test lists of [text, intent] pairs"
            )
        in_scope = [(str(text), str(label)) for text, label in data[split]]
        out_of_scope = [(str(text), OOS) for text, _ in data[f"oos_{split}"]]
        pairs = in_scope + out_of_scope
        splits[split] = Labelled([t for t, _ in pairs], [label for _, label in pairs])
    return splits


def k_shot(data: Labelled, k: int, seed: int) -> Labelled:
    """At most `k` examples per label, drawn without replacement with `seed`."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(data.labels):
        by_label[label].append(index)
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    chosen = sorted(
        index
        for label in sorted(by_label)
        for index in rng.sample(by_label[label], min(k, len(by_label[label])))
    )
    return Labelled([data.texts[i] for i in chosen], [data.labels[i] for i in chosen])


def split_off(data: Labelled, fraction: float, seed: int) -> tuple[Labelled, Labelled]:
    """Stratified (rest, held_out) with `fraction` of each label held out."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(data.labels):
        by_label[label].append(index)
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    held: set[int] = set()
    for label in sorted(by_label):
        indices = by_label[label]
        held.update(rng.sample(indices, round(len(indices) * fraction)))
    return _subset(data, [i for i in range(len(data)) if i not in held]), _subset(
        data, sorted(held)
    )


def _subset(data: Labelled, indices: Sequence[int]) -> Labelled:
    return Labelled([data.texts[i] for i in indices], [data.labels[i] for i in indices])
