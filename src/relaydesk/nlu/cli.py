"""`relaydesk nlu`: evaluate intent backends on labelled CSVs or CLINC150."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from relaydesk.nlu.backends import BackendOptionError, build, check_options
from relaydesk.nlu.datasets import DatasetError, Labelled, k_shot, load_clinc150, load_csv
from relaydesk.nlu.evaluate import Evaluation, evaluate
from relaydesk.nlu.intent import OOS


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _progress(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


@click.group()
def nlu() -> None:
    """Understanding: evaluate intent classifiers."""


@nlu.command("eval")
@click.option("--train", "train_path", type=click.Path(path_type=Path), help="`text,label` CSV.")
@click.option("--test", "test_path", type=click.Path(path_type=Path), help="`text,label` CSV.")
@click.option(
    "--validation",
    "validation_path",
    type=click.Path(path_type=Path),
    help="`text,label` CSV for calibration and the out-of-scope threshold "
    "(default: cross-validation on --train).",
)
@click.option(
    "--clinc150",
    "clinc_path",
    type=click.Path(path_type=Path),
    help="CLINC150 JSON (data_full.json) instead of CSVs: train on in-scope train, "
    "tune on val + oos_val, test on test + oos_test (Larson's oos-threshold protocol).",
)
@click.option(
    "--split-mode",
    type=click.Choice(["full"]),
    default="full",
    show_default=True,
    help="CLINC150 protocol.",
)
@click.option("--backend", default="tfidf", show_default=True, help="Intent backend name.")
@click.option("--shots", type=click.IntRange(1), help="Train on K examples per intent.")
@click.option(
    "--seeds", type=click.IntRange(1), default=1, show_default=True, help="K-shot samples (0..N-1)."
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="NAME=VALUE",
    help="A backend constructor option, e.g. --option semantic=false (repeatable).",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write results here.")
def eval_command(
    train_path: Path | None,
    test_path: Path | None,
    validation_path: Path | None,
    clinc_path: Path | None,
    split_mode: str,
    backend: str,
    shots: int | None,
    seeds: int,
    options: tuple[str, ...],
    json_path: Path | None,
) -> None:
    """Train a backend and report accuracy, macro-F1, calibration (ECE), accuracy and
    coverage at confidence thresholds, out-of-scope recall/precision and speed."""
    settings: dict[str, str] = {}
    for option in options:
        key, equals, value = option.partition("=")
        if not equals or not key.strip():
            _fail(f"--option {option!r}: write it as NAME=VALUE, e.g. --option semantic=false")
        settings[key.strip()] = value.strip()
    try:
        check_options(backend, settings)  # before loading any data
    except BackendOptionError as exc:
        _fail(str(exc))
    try:
        if clinc_path is not None:
            splits = load_clinc150(clinc_path)
            train = splits["train"].without(OOS)
            validation: Labelled | None = splits["val"]
            test = splits["test"]
        else:
            if train_path is None or test_path is None:
                _fail("pass --train and --test CSVs, or --clinc150 data_full.json")
            train, test = load_csv(train_path), load_csv(test_path)
            validation = load_csv(validation_path) if validation_path else None
            for path, data in (
                (train_path, train),
                (test_path, test),
                (validation_path, validation),
            ):
                if data is not None and data.skipped:
                    lines = ", ".join(map(str, data.skipped[:10]))
                    _progress(
                        f"{path}: skipped {len(data.skipped)} empty-text rows (lines {lines})"
                    )
    except DatasetError as exc:
        _fail(str(exc))

    runs: list[Evaluation] = []
    for seed in range(seeds if shots else 1):
        data = k_shot(train, shots, seed) if shots else train
        _progress(f"training {backend} on {len(data)} examples" + (f", seed {seed}" * bool(shots)))
        try:
            result = evaluate(
                build(backend, settings),
                (data.texts, data.labels),
                (test.texts, test.labels),
                validation=(validation.texts, validation.labels) if validation else None,
            )
        except ValueError as exc:
            _fail(str(exc))
        _progress(f"accuracy {result.accuracy:.4f}, trained in {result.train_seconds:.1f} s")
        runs.append(result)

    report = _report(runs, shots)
    report["options"] = settings
    click.echo(_table(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        _progress(f"wrote {json_path}")


def _report(runs: list[Evaluation], shots: int | None) -> dict[str, Any]:
    """The first run's figures, with mean and standard deviation over k-shot seeds."""
    report = runs[0].to_json()
    report["shots"] = shots
    report["seeds"] = len(runs)
    if len(runs) > 1:
        for key in ("accuracy", "macro_f1", "ece", "in_scope_accuracy", "train_seconds"):
            values = [getattr(run, key) for run in runs]
            report[key] = round(statistics.mean(values), 4)
            report[f"{key}_sd"] = round(statistics.stdev(values), 4)
            report[f"{key}_per_seed"] = values
    return report


def _table(report: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.2f}%"

    def sd(key: str) -> str:
        return f" ± {report[key + '_sd'] * 100:.2f}" if f"{key}_sd" in report else ""

    rows = [
        ("backend", report["backend"]),
        ("train / test", f"{report['train_size']} / {report['test_size']}"),
        ("accuracy", pct(report["accuracy"]) + sd("accuracy")),
        ("macro-F1", f"{report['macro_f1']:.4f}"),
        ("ECE (15 bins)", f"{report['ece']:.4f}"),
    ]
    rows += [
        (
            f"confidence >= {a['threshold']}",
            f"{pct(a['coverage'])} answered, {pct(a['accuracy'])} right",
        )
        for a in report["at_thresholds"]
    ]
    rows += [
        ("in-scope accuracy (Larson)", pct(report["in_scope_accuracy"]) + sd("in_scope_accuracy")),
        ("in-scope rejected", pct(report["in_scope_rejected"])),
        ("OOS recall / precision", f"{pct(report['oos_recall'])} / {pct(report['oos_precision'])}"),
        ("train time", f"{report['train_seconds']:.2f} s"),
        ("messages/s one by one", f"{report['messages_per_second_single']:.0f}"),
        ("messages/s batched", f"{report['messages_per_second_batch']:.0f}"),
        (
            "p50 / p90 latency (1 message)",
            f"{report['p50_latency_ms']:.3f} / {report['p90_latency_ms']:.3f} ms",
        ),
    ]
    if "embeddings" in report["extra"]:
        share = report["extra"]["encoded_share"]
        rows.append(
            (
                "MiniLM embeddings",
                f"used on {share * 100:.1f}% of test messages"
                if report["extra"]["embeddings"]
                else "not available (TF-IDF alone)",
            )
        )
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


if __name__ == "__main__":
    nlu()
