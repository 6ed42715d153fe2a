"""The supervisor of `relaydesk serve`'s worker child: its backoff, a restart after an exit,
and a stop that leaves no child behind (with stand-in children: a short Python command)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

import pytest

from relaydesk.app.worker_process import WorkerProcess, restart_delay, worker_argv

S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("quick_exits", "delay"),
    [
        (1, 1 * S),  # the first restart is quick
        (2, 2 * S),  # then doubles with each exit soon after a start
        (4, 8 * S),
        (7, 60 * S),  # capped at a minute
        (500, 60 * S),  # however many
    ],
)
def test_restart_delay_doubles_up_to_a_minute(quick_exits: int, delay: timedelta) -> None:
    assert restart_delay(quick_exits) == delay


def test_restart_delay_needs_an_exit() -> None:
    with pytest.raises(ValueError, match="quick_exits is 0"):
        restart_delay(0)


def test_the_child_is_relaydesk_worker_tied_to_its_parent() -> None:
    assert worker_argv(1234) == [
        sys.executable,
        "-m",
        "relaydesk",
        "worker",
        "--parent-pid",
        "1234",
    ]
    assert worker_argv(1234, 9101)[-4:] == ["--metrics-host", "127.0.0.1", "--metrics-port", "9101"]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def wait_until(condition: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_child_that_exits_is_started_again() -> None:
    supervisor = WorkerProcess([sys.executable, "-c", "raise SystemExit(3)"], os.environ)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await wait_until(lambda: supervisor.starts >= 2)  # after the first 1 s backoff
    stop.set()
    await asyncio.wait_for(task, timeout=10)


async def test_stop_terminates_the_child_and_waits_for_it() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = WorkerProcess(sleeper, os.environ)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await wait_until(lambda: supervisor.pid is not None)
    pid = supervisor.pid
    assert pid is not None
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert gone(pid)
    assert supervisor.starts == 1


async def test_a_child_deaf_to_sigterm_is_killed_after_the_grace() -> None:
    deaf = [
        sys.executable,
        "-c",
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
    ]
    supervisor = WorkerProcess(deaf, os.environ, grace=timedelta(seconds=0.5))
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await wait_until(lambda: supervisor.pid is not None)
    pid = supervisor.pid
    assert pid is not None
    await asyncio.sleep(1.0)  # its SIGTERM handler is in place
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert gone(pid)
