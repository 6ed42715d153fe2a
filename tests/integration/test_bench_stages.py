"""`bench.stages` measures what it says: every message stored and decided, every reply sent
to its fake Graph API (a process of its own) and settled, before it prints the figures."""

from __future__ import annotations

import json

import pytest
from bench import stages


def test_the_stages_store_decide_and_send_every_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stages.main(["--messages", "24", "--mix", "confident"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["decided"] == 24
    assert result["actions"] == {"answer": 24}
    assert result["sent"] == 24 and result["outbox"] == {"done": 24}
    assert result["send_cpu_ms"] > 0 and result["decide_cpu_ms"] > 0


def test_a_message_count_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        stages.main(["--messages", "0"])
    assert exited.value.code == 2
    assert "--messages 0: give at least 1" in capsys.readouterr().err
