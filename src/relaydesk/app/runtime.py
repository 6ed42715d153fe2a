"""The garbage collector kept off what a long-running process built at start-up.

A full collection walks every object the collector tracks; in a trained worker (the
models, the brief) that took 60 to 170 ms, and on SQLite, when it struck inside a write
transaction, every webhook's acknowledgement waited for the write lock that long
(docs/benchmarks.md, "Where the acknowledgement waited")."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def settle_gc() -> None:
    """Move every object alive now out of the cyclic collector's way (`gc.freeze`), after
    one collection: a full collection then walks only what was made since. `serve` does
    it before it starts serving (the modules, the brief, the models) and, with
    `freeze_gc`, again after the Insights warming (the warmed summaries); the worker once
    its classifier is trained. What is frozen is freed by its reference count when
    dropped; what was in flight at the second freeze and later leaves cycles behind is not
    collected until shutdown (bounded: the requests running at that moment)."""
    gc.collect()
    gc.freeze()


@contextmanager
def worker_runtime() -> Iterator[None]:
    """For a worker's run: what start-up built (the trained classifier, the brief, the
    modules) frozen out of full collections, and unfrozen at the end (a worker run in a
    test's process leaves the process as it was)."""
    settle_gc()
    try:
        yield
    finally:
        gc.unfreeze()
