"""`relaydesk nlu eval` through click's runner, on small synthetic CSVs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from relaydesk.nlu.cli import nlu

INTENTS = {
    "track_order": [
        "where is my order",
        "track my parcel",
        "has my package shipped",
        "my order has not arrived",
        "when will my delivery come",
        "order status",
    ],
    "refund": [
        "i want my money back",
        "how do i get a refund",
        "refund my purchase",
        "return this for a refund",
        "the refund has not arrived",
        "request a refund",
    ],
    "opening_hours": [
        "what time do you open",
        "when are you open on sunday",
        "opening hours",
        "are you open today",
        "what time do you close",
        "store hours",
    ],
}


@pytest.fixture
def csvs(tmp_path: Path) -> tuple[Path, Path]:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    rows = [(text, label) for label, texts in INTENTS.items() for text in texts]
    train.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")
    test.write_text(
        "text,label\nwhere's my parcel,track_order\ni'd like a refund,refund\n"
        "when do you open,opening_hours\nxqzv bwrtk,oos\n",
        encoding="utf-8",
    )
    return train, test


def test_eval_prints_a_table_and_writes_every_metric(
    csvs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    result = CliRunner().invoke(
        nlu, ["eval", "--train", str(csvs[0]), "--test", str(csvs[1]), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in (
        "accuracy",
        "macro_f1",
        "ece",
        "at_thresholds",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "messages_per_second_single",
        "messages_per_second_batch",
        "p50_latency_ms",
        "train_seconds",
    ):
        assert report[key] is not None, key
    assert report["oos_recall"] == 1.0
    assert [a["threshold"] for a in report["at_thresholds"]] == [0.3, 0.5, 0.7, 0.9]


def test_k_shot_runs_report_mean_and_sd_over_seeds(csvs: tuple[Path, Path]) -> None:
    result = CliRunner().invoke(
        nlu,
        ["eval", "--train", str(csvs[0]), "--test", str(csvs[1]), "--shots", "4", "--seeds", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "±" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train", "missing.csv", "--test", "missing.csv"], "missing.csv: no such file"),
        (["--backend", "nope", "--clinc150", "x.json"], "unknown backend 'nope'; choose one of"),
        ([], "pass --train and --test CSVs, or --clinc150"),
        (
            ["--option", "colour=red", "--clinc150", "x.json"],
            "unknown option 'colour' for backend 'tfidf'; valid options: c, calibrated,",
        ),
        (["--option", "c=high", "--clinc150", "x.json"], "option c='high' of backend 'tfidf'"),
        (["--option", "semantic=maybe", "--clinc150", "x.json"], "expected true or false"),
        (["--option", "semantic", "--clinc150", "x.json"], "write it as NAME=VALUE"),
    ],
)
def test_bad_input_exits_1_naming_the_value(args: list[str], message: str) -> None:
    result = CliRunner().invoke(nlu, ["eval", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_backend_options_are_passed_and_recorded(csvs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    args = ["eval", "--train", str(csvs[0]), "--test", str(csvs[1]), "--json", str(out)]
    options = ["--option", "semantic=false", "--option", "c=none", "--option", "few_shot=2"]
    result = CliRunner().invoke(nlu, [*args, *options])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["options"] == {"semantic": "false", "c": "none", "few_shot": "2"}
    assert report["extra"]["embeddings"] is False
