"""The process that decides runs its models on one BLAS/OpenMP thread (`nlu.threads`).

Checked in a fresh interpreter: the defect this guards against (the limit applied before
SciPy's OpenBLAS and scikit-learn's OpenMP were loaded, so it limited nothing) only shows
in a process that has not loaded them yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from threadpoolctl import threadpool_info
from relaydesk.bootstrap import build
from relaydesk.config import load_settings
settings = load_settings(
    {"RELAYDESK_DATABASE_URL": sys.argv[1], "RELAYDESK_LOG_LEVEL": "warning"}
)
container = build(settings, base_url="http://127.0.0.1:9", migrate=True)
container.decisions  # trains the brief's classifier, as the worker does on start
print(json.dumps([[i["internal_api"], i["filepath"], i["num_threads"]] for i in threadpool_info()]))
"""


def test_the_decision_stage_runs_every_numerical_library_on_one_thread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'threads.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    pools = json.loads(done.stdout.strip().splitlines()[-1])
    apis = {api for api, _, _ in pools}
    assert {"openblas", "openmp"} <= apis  # numpy's and SciPy's OpenBLAS, sklearn's OpenMP
    assert len([p for p in pools if p[0] == "openblas"]) >= 1
    assert [p for p in pools if p[2] != 1] == []
