"""Loaders for labelled texts: CSV, CLINC150 JSON, k-shot samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relaydesk.nlu.datasets import (
    DatasetError,
    Labelled,
    k_shot,
    load_clinc150,
    load_csv,
    split_off,
)
from relaydesk.nlu.intent import OOS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(content, encoding="utf-8")
    return path


def test_reads_text_label_csv_with_quoted_commas_and_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, 'text,label\n"hi, there",greet\n"two\nlines",other\n')
    assert load_csv(path) == Labelled(["hi, there", "two\nlines"], ["greet", "other"])


@pytest.mark.parametrize("column", ["label", "intent", "category"])
def test_accepts_the_usual_label_column_names(tmp_path: Path, column: str) -> None:
    path = write(tmp_path, f"id,{column},text\n1,greet,hello\n")
    assert load_csv(path).labels == ["greet"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("hello,greet\n", r"data\.csv:1: header is hello,greet; expected a header row"),
        ("text,label\nhi,greet\nhey,greet,extra\n", r"data\.csv:3: 3 fields, the header has 2"),
        ("text,label\nhi,\n", r"data\.csv:2: empty label"),
        ("text,label\n", r"data\.csv: no rows after the header"),
    ],
)
def test_malformed_csv_errors_name_the_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        load_csv(write(tmp_path, content))


def test_rows_with_an_empty_text_are_skipped_and_counted(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path, "text,label\nhi,greet\n,greet\n  ,greet\n"))
    assert (data.texts, data.skipped) == (["hi"], (3, 4))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope\.csv: no such file"):
        load_csv(tmp_path / "nope.csv")


def test_clinc150_splits_put_out_of_scope_queries_under_oos(tmp_path: Path) -> None:
    data = {split: [["in " + split, "greet"]] for split in ("train", "val", "test")} | {
        f"oos_{split}": [["out " + split, "oos"]] for split in ("train", "val", "test")
    }
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    splits = load_clinc150(path)
    assert splits["val"] == Labelled(["in val", "out val"], ["greet", OOS])


def test_clinc150_missing_split_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps({"train": []}), encoding="utf-8")
    with pytest.raises(DatasetError, match="missing key 'train' or 'oos_train'"):
        load_clinc150(path)


def test_k_shot_draws_k_per_label_reproducibly() -> None:
    data = Labelled([f"t{i}" for i in range(30)], ["a"] * 20 + ["b"] * 10)
    sample = k_shot(data, 4, seed=1)
    assert sorted(sample.labels) == ["a"] * 4 + ["b"] * 4
    assert sample == k_shot(data, 4, seed=1)
    assert sample != k_shot(data, 4, seed=2)


def test_split_off_holds_out_a_share_of_each_label() -> None:
    data = Labelled([f"t{i}" for i in range(30)], ["a"] * 20 + ["b"] * 10)
    rest, held = split_off(data, 0.2, seed=0)
    assert sorted(held.labels) == ["a"] * 4 + ["b"] * 2
    assert len(rest) + len(held) == 30


def test_banking77_csv_reads_with_its_category_header() -> None:
    path = SHARED / "banking77" / "test.csv"
    if not path.is_file():
        pytest.skip(f"public datasets not found at {SHARED}; they live in ../shared/datasets")
    data = load_csv(path)
    assert (len(data), len(set(data.labels))) == (3080, 77)
