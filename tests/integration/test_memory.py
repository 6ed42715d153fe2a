"""A process that only receives and acknowledges webhooks (`relaydesk serve --no-worker`)
loads no model: the numerical stack (numpy, scipy, scikit-learn) and the optional encoders
stay out of it. Each check runs in a fresh interpreter, since this test process has long
imported them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import relaydesk

#: what the intent models pull in: TF-IDF+LR (scikit-learn on scipy and numpy), MiniLM
#: computed with numpy, and the optional `embeddings` extra (torch, sentence-transformers,
#: onnxruntime where installed)
HEAVY = ("numpy", "scipy", "sklearn", "onnxruntime", "torch", "sentence_transformers")

_REPORT = textwrap.dedent(
    """
    import json, sys
    print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))
    """
)


def loaded_after(code: str, tmp_path: Path, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """The `modules` a fresh interpreter holds after running `code`."""
    script = textwrap.dedent(code) + _REPORT.format(modules=modules)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
    # the relaydesk this test imported (a relative PYTHONPATH would not hold in tmp_path)
    source = str(Path(relaydesk.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
    env.update(
        {
            "RELAYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'receive.sqlite'}",
            "RELAYDESK_WHATSAPP_ACCESS_TOKEN": "memory-test-access-token",
            "RELAYDESK_WHATSAPP_APP_SECRET": "memory-test-app-secret",
            "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "memory-test-verify-token",
            "RELAYDESK_SECRET_KEY": "memory-test-secret-key-0123456789abcdef",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_http_app_and_bootstrap_loads_no_model_library(tmp_path: Path) -> None:
    assert loaded_after("import relaydesk.app.http.main, relaydesk.bootstrap", tmp_path) == []


def test_the_check_sees_a_model_library_when_one_is_loaded(tmp_path: Path) -> None:
    """The probe above can fail: the default backend's module does load them."""
    assert {"numpy", "sklearn"} <= set(loaded_after("import relaydesk.nlu.tfidf", tmp_path))


def test_a_receive_only_app_loads_no_model_library(tmp_path: Path) -> None:
    """What `relaydesk serve --no-worker` builds before it listens: the container and the
    app without the decision stage."""
    code = """
        from relaydesk.app.http.main import create_app
        from relaydesk.bootstrap import build
        from relaydesk.config import Settings
        container = build(Settings(), base_url="http://127.0.0.1:9", migrate=True)
        create_app(container, run_worker=False)
    """
    assert loaded_after(code, tmp_path) == []


def test_an_app_on_sqlite_never_loads_the_postgresql_driver(tmp_path: Path) -> None:
    """Only the event hub's LISTEN on PostgreSQL imports psycopg; an app on SQLite, with its
    event log and hub, does not."""
    code = """
        from relaydesk.app.http.main import create_app
        from relaydesk.bootstrap import build
        from relaydesk.config import Settings
        import relaydesk.services.events
        container = build(Settings(), base_url="http://127.0.0.1:9", migrate=True)
        create_app(container, run_worker=False)
    """
    assert loaded_after(code, tmp_path, modules=("psycopg",)) == []
