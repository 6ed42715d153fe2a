"""The console's sign-in throttle holds under parallel guessing and across server
processes sharing one database, on both databases."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.services import accounts
from relaydesk.testing import GraphServer
from tests.conftest import Clock

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')

App = Callable[[], httpx.AsyncClient]


@pytest.fixture
async def apps(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> AsyncIterator[tuple[App, App]]:
    """Two app instances (as two `serve` processes) on one database, with a user."""
    from relaydesk.app.http.main import create_app

    settings = make_settings(whatsapp_graph_url=graph.url)
    async with AsyncExitStack() as stack:
        transports = []
        for _ in range(2):
            container = build(settings, base_url="http://testserver", migrate=True)
            app = create_app(container, run_worker=False, clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transports.append(httpx.ASGITransport(app=app))
        with container.db.write() as conn:
            accounts.create_user(
                conn,
                email="ana@example.com",
                name="Ana",
                role="agent",
                password=PASSWORD,
                now=clock(),
            )

        def browser(transport: httpx.ASGITransport) -> App:
            return lambda: httpx.AsyncClient(transport=transport, base_url="http://testserver")

        yield browser(transports[0]), browser(transports[1])


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> int:
    form = await client.get("/console/login")
    found = _CSRF.search(form.text)
    assert found
    response = await client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": found[1]}
    )
    return response.status_code


async def guesses(client: httpx.AsyncClient, email: str, count: int) -> Counter[int]:
    async with client:
        return Counter(
            await asyncio.gather(*(sign_in(client, email, "wrong guess!") for _ in range(count)))
        )


@pytest.mark.parametrize("email", ["ana@example.com", "nobody@example.com"])
async def test_sixty_parallel_wrong_passwords_get_five_401s_then_429s(
    apps: tuple[App, App], email: str
) -> None:
    first, second = apps
    statuses = sum(
        await asyncio.gather(guesses(first(), email, 30), guesses(second(), email, 30)),
        Counter(),
    )
    assert statuses == {401: 5, 429: 55}
    async with first() as client:  # even the right password, until the window passes
        assert await sign_in(client, "ana@example.com", PASSWORD) == (
            429 if email == "ana@example.com" else 303
        )


async def test_a_second_instance_sees_the_first_ones_failures(
    apps: tuple[App, App], clock: Clock
) -> None:
    first, second = apps
    async with first() as a, second() as b:
        assert [await sign_in(a, "Ana@example.com", "wrong guess!") for _ in range(3)] == [401] * 3
        assert [await sign_in(b, "ana@example.com", "wrong guess!") for _ in range(3)] == [
            401,
            401,
            429,
        ]
        assert await sign_in(a, "ana@example.com", PASSWORD) == 429
        clock.advance(minutes=15)
        assert await sign_in(b, "ana@example.com", PASSWORD) == 303
        assert await sign_in(a, "ana@example.com", "wrong guess!") == 401  # count cleared
