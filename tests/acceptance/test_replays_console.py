"""The console's Replays page through HTTP on both databases: a supervisor uploads a history
with the form's CSRF token, the list follows the job and polls while it runs, the report
opens from it; a bad file's problems show on the page; a form without the token, an agent,
an upload that cannot be replayed or is too large are refused and queue nothing."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.testing import GraphServer
from tests.acceptance.replay_uploads import BAD_HISTORY, history_slice, work
from tests.acceptance.test_console import Console, csrf_of, location, signed_in
from tests.conftest import Clock, Harness

PAGE = "/console/replays"


@pytest.fixture
async def console(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> AsyncIterator[Console]:
    """The console's app with uploads limited to 64 KB."""
    from relaydesk.app.http.main import create_app

    settings = make_settings(whatsapp_graph_url=graph.url, replay_max_upload_bytes="65536")
    container = build(settings, base_url="http://testserver", migrate=True)
    app = create_app(container, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Console(Harness(container, client, graph), transport, clock)


async def upload(
    client: httpx.AsyncClient,
    name: str,
    content: bytes,
    *,
    token: str | None = "",
    **fields: str,
) -> httpx.Response:
    """The Replays form posted as the browser sends it (the page's CSRF token unless
    `token` is given; None: no token at all)."""
    if token == "":
        token = csrf_of(await client.get(PAGE))
    data = fields | ({"csrf_token": token} if token is not None else {})
    return await client.post(
        PAGE, data=data, files={"file": (name, content, "application/octet-stream")}
    )


def jobs(console: Console) -> int:
    return len(console.harness.container.replays.recent())


def row(page: httpx.Response, replay_id: int) -> str:
    found = re.search(rf'<tr data-replay="{replay_id}".*?</tr>', page.text, re.S)
    assert found, page.text[:2000]
    return found.group(0)


async def test_a_supervisor_uploads_follows_and_opens_the_report(console: Console) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert '<a href="/console/replays" aria-current="page">Replays</a>' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    timezone = console.harness.container.brief.business.timezone
    assert f'name="timezone" value="{timezone}"' in page.text  # the brief's, by default
    assert "No replays yet" in page.text

    sent = await upload(client, "shop.jsonl", history_slice(30), timezone="UTC")
    assert location(sent) == f"{PAGE}?done=replay_queued"
    listed = await client.get(location(sent))
    assert "History uploaded; the worker replays it next." in listed.text
    (job,) = console.harness.container.replays.recent()
    assert (job.file_name, job.timezone, job.created_by_name) == ("shop.jsonl", "UTC", "Lead")
    assert 'data-state="queued"' in row(listed, job.id)
    assert 'data-poll="2000"' in listed.text  # the list refreshes itself while it waits
    assert '<meta http-equiv="refresh"' in listed.text  # inside <noscript>

    assert await work(console.harness.container)
    live = await client.get(PAGE, headers={"X-Partial": "1"})
    assert "<form" not in live.text and "data-poll" not in live.text
    finished = row(live, job.id)
    assert 'data-state="done"' in finished and "Not ready" in finished
    link = f"/console/replays/{job.id}/report"
    assert f'<a href="{link}">Open report</a>' in finished

    report = await client.get(link)
    assert report.status_code == 200
    assert report.headers["content-type"] == "text/html; charset=utf-8"
    assert "sandbox" in report.headers["content-security-policy"]
    assert 'id="verdict"' in report.text and 'id="intent-chart"' in report.text


async def test_a_failed_replay_shows_its_file_line_problems(console: Console) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    await upload(client, "bad.jsonl", BAD_HISTORY)
    await work(console.harness.container)
    page = await client.get(PAGE)
    (job,) = console.harness.container.replays.recent()
    assert 'data-state="failed"' in row(page, job.id)
    problems = re.search(rf'data-problems="{job.id}".*?</tr>', page.text, re.S)
    assert problems is not None
    shown = html.unescape(problems.group(0))
    assert "2 problems; nothing was replayed" in shown
    assert "<code>bad.jsonl:2: " in shown and "<code>bad.jsonl:3: " in shown
    refused = await client.get(f"/console/replays/{job.id}/report")
    assert refused.status_code == 409
    assert "failed and has no report" in refused.text


async def test_a_form_without_its_csrf_token_queues_nothing(console: Console) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    for token in (None, "forged"):
        refused = await upload(client, "shop.jsonl", history_slice(2), token=token)
        assert refused.status_code == 403
        assert "security token is missing or wrong" in refused.text
    assert jobs(console) == 0


async def test_agents_are_refused_the_page_the_upload_and_the_report(console: Console) -> None:
    lead = await signed_in(console, "lead@example.com", "supervisor")
    await upload(lead, "shop.jsonl", history_slice(2))
    await work(console.harness.container)
    (job,) = console.harness.container.replays.recent()
    agent = await signed_in(console, "agent@example.com", "agent")
    home = await agent.get("/console")
    assert 'href="/console/replays"' not in home.text
    page = await agent.get(PAGE)
    assert page.status_code == 403 and "This page is for supervisors and admins" in page.text
    token = csrf_of(home)
    assert (await upload(agent, "x.jsonl", history_slice(2), token=token)).status_code == 403
    assert (await agent.get(f"/console/replays/{job.id}/report")).status_code == 403
    assert jobs(console) == 1


@pytest.mark.parametrize(
    ("name", "fields", "status", "message"),
    [
        ("notes.docx", {}, 422, 'notes.docx: cannot read ".docx" files'),
        ("chat.txt", {"timezone": "Europe/Madrid"}, 422, "give the business name"),
        ("h.jsonl", {"timezone": "Moon/Base"}, 422, "time zone 'Moon/Base' is not"),
        ("big.jsonl", {}, 413, "big.jsonl is 65,537 bytes; uploads are limited to 0.0625 MB"),
        ("chat.txt", {"business_name": "Acme\x00"}, 422, "holds a NUL or half an emoji"),
    ],
)
async def test_a_refused_upload_says_why_and_keeps_the_form(
    console: Console, name: str, fields: dict[str, str], status: int, message: str
) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    content = b"x" * 65_537 if name.startswith("big") else b"conversation_id,time,author,text\n"
    refused = await upload(client, name, content, **({"business_name": "  "} | fields))
    assert refused.status_code == status, refused.text[:500]
    assert message in html.unescape(refused.text)
    assert 'data-testid="form-error"' in refused.text
    if "timezone" in fields:
        assert f'name="timezone" value="{fields["timezone"]}"' in refused.text
    assert jobs(console) == 0


async def test_a_body_past_the_limit_gets_the_too_large_page(console: Console) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    refused = await upload(client, "huge.jsonl", b"x" * (200 * 1024))
    assert refused.status_code == 413
    assert "Too large" in refused.text
    assert "RELAYDESK_REPLAY_MAX_UPLOAD_BYTES" in refused.text
    assert jobs(console) == 0


async def test_an_unknown_or_unfinished_report_is_refused_with_a_page(console: Console) -> None:
    client = await signed_in(console, "lead@example.com", "supervisor")
    missing = await client.get("/console/replays/999/report")
    assert missing.status_code == 404 and "there is no replay 999" in missing.text
    await upload(client, "shop.jsonl", history_slice(2))
    (job,) = console.harness.container.replays.recent()
    waiting = await client.get(f"/console/replays/{job.id}/report")
    assert waiting.status_code == 409
    assert "is queued; its report is there once its state is done" in waiting.text
