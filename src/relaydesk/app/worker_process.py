"""`relaydesk serve`'s worker as a child process: `relaydesk worker` started beside the web
process, restarted with backoff when it exits, stopped with the server.

Deciding and sending cost several times the CPU of an acknowledgement; in their own
interpreter they no longer hold the web process's GIL while a webhook waits for its answer,
and the web process loads no model. The child dies with its parent: it asks the kernel for
SIGKILL when the parent goes (Linux), and otherwise notices within a second that its parent
changed, so a `kill -9` of `serve` leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta

import structlog

log = structlog.get_logger(__name__)

#: The first restart waits this long; each quick exit after it doubles the wait, up to MAX.
FIRST_RESTART = timedelta(seconds=1)
MAX_RESTART = timedelta(seconds=60)
#: A child that ran this long was healthy: its exit starts the backoff again from FIRST.
HEALTHY_RUN = timedelta(seconds=60)
#: After SIGTERM the worker finishes its sends and rounds (its threads get 30 s), then SIGKILL.
STOP_GRACE = timedelta(seconds=40)

#: The child's niceness above its parent's: when the cores are short, the web process's
#: acknowledgements (0.5 ms of CPU, a request waiting on each) run before deciding and
#: sending (several ms each, nobody waiting on one); with cores to spare it changes nothing.
CHILD_NICENESS = 5

_PR_SET_PDEATHSIG = 1


def restart_delay(quick_exits: int) -> timedelta:
    """How long to wait before starting the child again after `quick_exits` exits in a row,
    each within HEALTHY_RUN of its start (at least 1)."""
    if quick_exits < 1:
        raise ValueError(f"quick_exits is {quick_exits}; a restart follows at least one exit.")
    return min(FIRST_RESTART * (1 << min(quick_exits - 1, 16)), MAX_RESTART)


def worker_argv(parent_pid: int, metrics_port: int | None = None) -> list[str]:
    """The child's command: this interpreter's `relaydesk worker`, tied to `parent_pid`,
    serving its metrics on 127.0.0.1:`metrics_port` when given (`app.worker_metrics`)."""
    argv = [sys.executable, "-m", "relaydesk", "worker", "--parent-pid", str(parent_pid)]
    if metrics_port is not None:
        argv += ["--metrics-host", "127.0.0.1", "--metrics-port", str(metrics_port)]
    return argv


class WorkerProcess:
    """Runs `argv` as a child until `stop`; restarts it with backoff whenever it exits."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        grace: timedelta = STOP_GRACE,
        healthy_run: timedelta = HEALTHY_RUN,
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._grace = grace
        self._healthy_run = healthy_run
        self.pid: int | None = None  #: the running child's pid, None between runs
        self.starts = 0

    async def run(self, stop: asyncio.Event) -> None:
        quick_exits = 0
        while not stop.is_set():
            started = time.monotonic()
            returncode = await self._run_once(stop)
            if returncode is None:  # stopped
                return
            ran = time.monotonic() - started
            quick_exits = 1 if ran >= self._healthy_run.total_seconds() else quick_exits + 1
            delay = restart_delay(quick_exits)
            log.error(
                "worker_process_exited",
                returncode=returncode,
                ran_s=round(ran, 1),
                restart_in_s=delay.total_seconds(),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay.total_seconds())

    async def _run_once(self, stop: asyncio.Event) -> int | str | None:
        """Start the child and wait for it: its exit status (or why it did not start), or
        None once `stop` was set and it has been stopped."""
        try:
            # Spawned from the event loop's thread, which lives as long as the process: the
            # kernel's parent-death signal is tied to the thread that forked the child. A
            # session of its own: a terminal's Ctrl-C reaches `serve`, which stops it.
            child = await asyncio.create_subprocess_exec(
                *self._argv, env=self._env, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError as exc:
            return f"not started: {exc}"
        self.pid, self.starts = child.pid, self.starts + 1
        log.info("worker_process_started", pid=child.pid, start=self.starts)
        exited = asyncio.ensure_future(child.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            await self._terminate(child, exited)
            return None
        self.pid = None
        return child.returncode

    async def _terminate(
        self, child: asyncio.subprocess.Process, exited: asyncio.Future[int]
    ) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout=self._grace.total_seconds())
        except TimeoutError:
            log.error("worker_process_killed", pid=child.pid, grace_s=self._grace.total_seconds())
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await exited
        log.info("worker_process_stopped", pid=child.pid, returncode=child.returncode)
        self.pid = None


def become_child_of(parent_pid: int) -> None:
    """Called first thing in the child: yield the CPU to the parent (CHILD_NICENESS) and
    end this process when `parent_pid` ends. On Linux the kernel sends SIGKILL at once (as
    if the `kill -9` had hit both); elsewhere a thread checks every second. A parent
    already gone ends it here."""
    os.nice(CHILD_NICENESS)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("parent_death_signal_unavailable", errno=ctypes.get_errno())
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
