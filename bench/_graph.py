"""The fake Graph API for the benchmark, in its own process: `python -m bench._graph PORT TOKEN`.

It is `relaydesk.testing.graph_app` (the same contract the tests use) plus two read-only
routes for the benchmark: `/_bench/stats` (a time series of replies received, sampled every
20 ms by a thread) and `/_bench/replies?prefix=` (replies per recipient, for the exactly-once
check).
"""

from __future__ import annotations

import bisect
import sys
import threading
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from relaydesk.testing import GraphState, ServerThread, graph_app

SAMPLE_EVERY = 0.02


def _sends(state: GraphState, start: int) -> tuple[int, int]:
    """(sends among state.received[start:], new end index)."""
    with state.lock:
        end = len(state.received)
        new = state.received[start:end]
    return sum(1 for r in new if "status" not in r.body), end


def main() -> None:
    port, token = int(sys.argv[1]), sys.argv[2]
    state = GraphState(access_token=token)
    samples: list[tuple[float, int]] = [(time.monotonic(), 0)]
    stop = threading.Event()

    def sampler() -> None:
        index = total = 0
        while not stop.wait(SAMPLE_EVERY):
            added, index = _sends(state, index)
            if added:
                total += added
                samples.append((time.monotonic(), total))

    async def stats(request: Request) -> JSONResponse:
        since = float(request.query_params.get("since", "0"))
        series = samples[bisect.bisect_left(samples, (since, -1)) :]
        return JSONResponse({"now": time.monotonic(), "total": samples[-1][1], "series": series})

    async def replies(request: Request) -> JSONResponse:
        prefix = request.query_params.get("prefix", "")
        counts: dict[str, int] = {}
        with state.lock:
            received = list(state.received)
        for r in received:
            to = r.body.get("to")
            if "status" not in r.body and isinstance(to, str) and to.startswith(prefix):
                counts[to] = counts.get(to, 0) + 1
        return JSONResponse(counts)

    app = graph_app(state)
    app.router.routes[:0] = [Route("/_bench/stats", stats), Route("/_bench/replies", replies)]
    threading.Thread(target=sampler, daemon=True).start()
    with ServerThread(app, port=port) as server:
        print(f"graph ready on {server.url}", flush=True)
        try:
            while server.thread.is_alive():
                server.thread.join(0.5)
        except KeyboardInterrupt:
            pass
    stop.set()


if __name__ == "__main__":
    main()
