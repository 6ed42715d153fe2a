"""Property: a signed webhook built from a real sample and then broken (wrong types, lone
surrogates, NUL, 2**64, missing senders, numeric `from`, identities of two customers seen
apart, deep nesting, empty strings) is never answered 5xx while storage is up; a 4xx only
when the envelope itself is broken (not a WhatsApp webhook any more); and a well-formed
message placed beside the broken items in the same webhook is stored.

The longer run is `python -m bench.fuzz_webhooks` (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from relaydesk.adapters.storage.tables import messages
from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.testing import GraphServer
from tests.conftest import APP_SECRET, SAMPLES, Clock
from tests.webhook_mutations import OPERATIONS, Mutant, load_samples, mutate

EXAMPLES = {"sqlite": 300, "postgresql": 60}


def test_no_mutated_webhook_gets_a_5xx_and_good_messages_beside_bad_ones_are_stored(
    make_settings: Callable[..., Settings], graph: GraphServer
) -> None:
    samples = load_samples(SAMPLES)
    if not samples:
        pytest.skip(f"WhatsApp samples not found at {SAMPLES}; they live in ../shared/")
    container = build(
        make_settings(whatsapp_graph_url=graph.url), base_url="http://testserver", migrate=True
    )
    from relaydesk.app.http.main import create_app

    app = create_app(container, run_worker=False, clock=Clock(datetime.now(UTC)))
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    client: httpx.AsyncClient = loop.run_until_complete(_start(stack, app))
    outcomes: Counter[int] = Counter()

    async def post(body: bytes) -> httpx.Response:
        headers = {"X-Hub-Signature-256": sign(body, APP_SECRET)}
        return await client.post("/webhooks/whatsapp", content=body, headers=headers)

    def stored(wamid: str) -> bool:
        with container.db.read() as conn:
            query = select(messages.c.id).where(messages.c.wamid == wamid)
            return conn.execute(query).first() is not None

    @settings(
        max_examples=EXAMPLES[container.db.engine.dialect.name],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        sample=st.integers(0, len(samples) - 1),
        picks=st.lists(
            st.tuples(st.integers(0, 2**20), st.integers(0, len(OPERATIONS) - 1)),
            min_size=1,
            max_size=4,
        ),
        good_slot=st.integers(0, 7),
    )
    def check(sample: int, picks: list[tuple[int, int]], good_slot: int) -> None:
        name, doc = samples[sample]
        mutant = mutate(doc, picks, good_slot=good_slot)
        for seed in mutant.seeds:
            assert loop.run_until_complete(post(seed)).status_code == 200
        response = loop.run_until_complete(post(mutant.body))
        outcomes[response.status_code] += 1
        event(f"status {response.status_code}")
        context = _describe(name, mutant, response)
        assert response.status_code < 500, context
        if response.status_code != 200:
            assert response.status_code == 400 and mutant.envelope_touched, context
            return
        assert stored(mutant.good_wamid), context

    try:
        check()
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
        container.db.dispose()
    assert outcomes[200] > outcomes[400]  # the mutations mostly hit items, not the envelope


async def _start(stack: contextlib.AsyncExitStack, app: object) -> httpx.AsyncClient:
    await stack.enter_async_context(app.router.lifespan_context(app))  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://testserver")
    )


def _describe(sample: str, mutant: Mutant, response: httpx.Response) -> str:
    return (
        f"{sample}: {list(zip(mutant.operations, mutant.paths, strict=True))} -> "
        f"{response.status_code} {response.text[:300]}"
    )
