"""`/api/v1/replays` through HTTP on both databases: a supervisor uploads a history, the
worker's step replays it with progress, the verdict and the report (JSON and HTML) are
read back; a bad file fails with its file:line problems; agents, unknown ids, reports not
ready and uploads over the limit are refused, and nothing is queued by a refusal."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.testing import GraphServer
from tests.acceptance.desk import lead, person
from tests.acceptance.replay_uploads import (
    BAD_HISTORY,
    EXPORT,
    SLICE,
    customer_turns,
    history_slice,
    work,
)
from tests.conftest import Clock, Harness

LIMIT = 4096  #: a small upload limit, so a test can go past it cheaply


@pytest.fixture
async def small_limit(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> AsyncIterator[Harness]:
    """The whole app with uploads limited to `LIMIT` bytes."""
    from relaydesk.app.http.main import create_app

    settings = make_settings(whatsapp_graph_url=graph.url, replay_max_upload_bytes=str(LIMIT))
    container = build(settings, base_url="http://testserver", migrate=True)
    app = create_app(container, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(container, client, graph)


async def upload(
    harness: Harness,
    name: str,
    content: bytes,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> httpx.Response:
    return await harness.client.post(
        "/api/v1/replays",
        files={"file": (name, content, "application/octet-stream")},
        data=fields,
        headers=headers if headers is not None else lead(harness),
    )


def queued(harness: Harness) -> int:
    return len(harness.container.replays.recent())


async def test_a_history_is_replayed_by_the_worker_and_its_report_read(harness: Harness) -> None:
    history = history_slice()
    sent = await upload(harness, "shop.jsonl", history)
    assert sent.status_code == 202, sent.text
    job = sent.json()
    replay_id = job["id"]
    assert job["state"] == "queued"
    assert job["progress"] == {"done": 0, "total": None}
    assert (job["file_name"], job["format"], job["size_bytes"]) == (
        "shop.jsonl",
        "jsonl",
        len(history),
    )
    assert job["timezone"] == harness.container.brief.business.timezone  # the brief's
    assert job["links"] == {
        "self": f"/api/v1/replays/{replay_id}",
        "report": None,
        "report_html": None,
    }
    early = await harness.client.get(f"/api/v1/replays/{replay_id}/report", headers=lead(harness))
    assert early.status_code == 409
    assert early.json()["detail"] == (
        f"replay {replay_id} is queued; its report is there once its state is done"
    )

    assert await work(harness.container)
    assert not await work(harness.container)  # nothing else waits

    found = await harness.client.get(f"/api/v1/replays/{replay_id}", headers=lead(harness))
    assert found.status_code == 200
    done = found.json()
    turns = customer_turns(history)
    assert done["state"] == "done"
    assert done["progress"] == {"done": turns, "total": turns}
    assert (done["conversations"], done["ready"], done["problems"]) == (SLICE, False, [])
    assert done["brief_version"] == harness.container.brief.version
    assert done["started_at"] is not None and done["finished_at"] >= done["started_at"]
    assert done["links"]["report"] == f"/api/v1/replays/{replay_id}/report"

    report = await harness.client.get(done["links"]["report"], headers=lead(harness))
    assert report.status_code == 200
    assert report.headers["content-type"] == "application/json"
    assert report.headers["content-encoding"] == "gzip"  # stored compressed, sent as is
    data = report.json()
    assert (data["ready"], data["conversations"], data["customer_turns"]) == (False, SLICE, turns)
    assert len(data["turns"]) == turns
    assert any(i["intent"] == "greeting" for i in data["intents"])

    page = await harness.client.get(done["links"]["report_html"], headers=lead(harness))
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "sandbox" in page.headers["content-security-policy"]
    assert 'id="verdict"' in page.text and "Not ready" in page.text

    listed = await harness.client.get("/api/v1/replays", headers=lead(harness))
    assert [r["id"] for r in listed.json()["replays"]] == [replay_id]


async def test_the_report_is_unpacked_for_a_client_without_gzip(harness: Harness) -> None:
    sent = await upload(harness, "shop.jsonl", history_slice(5))
    await work(harness.container)
    path = f"/api/v1/replays/{sent.json()['id']}/report"
    headers = lead(harness) | {"Accept-Encoding": "identity"}
    async with harness.client.stream("GET", path, headers=headers) as answer:
        raw = b"".join([chunk async for chunk in answer.aiter_raw()])
    assert "content-encoding" not in answer.headers
    assert json.loads(raw)["conversations"] == 5
    headers["Accept-Encoding"] = "gzip"
    async with harness.client.stream("GET", path, headers=headers) as answer:
        packed = b"".join([chunk async for chunk in answer.aiter_raw()])
    assert json.loads(gzip.decompress(packed)) == json.loads(raw)


async def test_a_bad_file_fails_with_its_problems_and_no_report(harness: Harness) -> None:
    sent = await upload(harness, "bad.jsonl", BAD_HISTORY)
    assert sent.status_code == 202
    replay_id = sent.json()["id"]
    assert await work(harness.container)
    failed = (
        await harness.client.get(f"/api/v1/replays/{replay_id}", headers=lead(harness))
    ).json()
    assert failed["state"] == "failed"
    assert failed["ready"] is None and failed["links"]["report"] is None
    problems = failed["problems"]
    assert [p.split(": ", 1)[0] for p in problems] == ["bad.jsonl:2", "bad.jsonl:3"]
    assert "yesterday" in problems[0] and "robot" in problems[1]
    report = await harness.client.get(
        f"/api/v1/replays/{replay_id}/report.html", headers=lead(harness)
    )
    assert report.status_code == 409
    assert report.json()["detail"] == (
        f"replay {replay_id} failed and has no report; its problems say why"
    )


async def test_a_whatsapp_export_is_read_with_the_business_name(harness: Harness) -> None:
    sent = await upload(
        harness,
        "Tom Baker.txt",
        EXPORT.read_bytes(),
        business_name="Acme Shop",
        timezone="Europe/London",
        date_order="dmy",
    )
    assert sent.status_code == 202, sent.text
    assert (sent.json()["business_name"], sent.json()["date_order"]) == ("Acme Shop", "dmy")
    await work(harness.container)
    done = (await harness.client.get(sent.json()["links"]["self"], headers=lead(harness))).json()
    assert (done["state"], done["conversations"], done["progress"]["total"]) == ("done", 1, 3)


@pytest.mark.parametrize(
    ("name", "fields", "detail"),
    [
        ("history.json", {}, 'history.json: cannot read ".json" files; give .jsonl'),
        ("chat.txt", {}, "chat.txt is a WhatsApp export: give the business name"),
        ("h.csv", {"timezone": "Mars/Olympus"}, "time zone 'Mars/Olympus' is not an IANA"),
        ("empty.jsonl", {}, "empty.jsonl is empty; upload the history file itself"),
    ],
)
async def test_an_upload_that_cannot_be_replayed_is_refused(
    harness: Harness, name: str, fields: dict[str, str], detail: str
) -> None:
    content = b"" if name.startswith("empty") else b"conversation_id,time,author,text\n"
    sent = await upload(harness, name, content, **fields)
    assert sent.status_code == 422, sent.text
    assert sent.json()["detail"].startswith(detail)
    assert queued(harness) == 0


async def test_an_upload_without_a_file_is_refused(harness: Harness) -> None:
    sent = await harness.client.post(
        "/api/v1/replays", data={"timezone": "UTC"}, headers=lead(harness)
    )
    assert sent.status_code == 422
    assert queued(harness) == 0


async def test_agents_may_not_replay_nor_read_replays(harness: Harness) -> None:
    sent = await upload(harness, "shop.jsonl", history_slice(2))
    _, agent = person(harness, "agent@example.com")
    refused = await upload(harness, "shop.jsonl", history_slice(2), headers=agent)
    assert refused.status_code == 403
    assert "needs one of: supervisor, admin" in refused.json()["detail"]
    replay_id = sent.json()["id"]
    for path in ("", f"/{replay_id}", f"/{replay_id}/report", f"/{replay_id}/report.html"):
        answer = await harness.client.get(f"/api/v1/replays{path}", headers=agent)
        assert answer.status_code == 403, path
    assert queued(harness) == 1
    unsigned = await harness.client.get("/api/v1/replays")
    assert unsigned.status_code == 401


async def test_an_unknown_replay_is_not_found(harness: Harness) -> None:
    for path in ("", "/report", "/report.html"):
        answer = await harness.client.get(f"/api/v1/replays/999{path}", headers=lead(harness))
        assert answer.status_code == 404, path
        assert answer.json()["detail"] == "there is no replay 999"
    bad_id = await harness.client.get("/api/v1/replays/0", headers=lead(harness))
    assert bad_id.status_code == 404


async def test_uploads_over_the_limit_are_refused_naming_it(small_limit: Harness) -> None:
    harness = small_limit
    over = b"x" * (LIMIT + 1)
    refused = await upload(harness, "big.jsonl", over)  # the file alone is past the limit
    assert refused.status_code == 413
    assert refused.json()["detail"] == (
        "big.jsonl is 4,097 bytes; uploads are limited to 0.00390625 MB (4,096 bytes, "
        "RELAYDESK_REPLAY_MAX_UPLOAD_BYTES): split the history into smaller files"
    )
    huge = await upload(harness, "huge.jsonl", b"x" * (LIMIT + 80 * 1024))  # the body too
    assert huge.status_code == 413
    assert huge.json()["detail"] == (
        "the upload is larger than the limit of 0.00390625 MB (4,096 bytes, "
        "RELAYDESK_REPLAY_MAX_UPLOAD_BYTES): split the history into smaller files"
    )
    assert queued(harness) == 0
    fits = await upload(harness, "small.jsonl", b"x" * LIMIT)
    assert fits.status_code == 202


async def test_a_body_sent_in_chunks_is_cut_off_past_the_limit(small_limit: Harness) -> None:
    """No Content-Length: the body is counted as it arrives."""
    boundary = "relaydesk-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(40):
            yield b"x" * 4096
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = await small_limit.client.post(
        "/api/v1/replays",
        content=body(),
        headers=lead(small_limit) | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413
    assert "RELAYDESK_REPLAY_MAX_UPLOAD_BYTES" in answer.json()["detail"]
    assert queued(small_limit) == 0


def test_the_openapi_documents_the_replays(harness: Harness) -> None:
    from relaydesk.app.http.main import create_app

    schema = create_app(harness.container, run_worker=False).openapi()
    paths = schema["paths"]
    upload_body = paths["/api/v1/replays"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload_body
    assert set(paths["/api/v1/replays/{replay_id}/report"]["get"]["responses"]) >= {
        "200",
        "404",
        "409",
    }
    assert "ReplayOut" in schema["components"]["schemas"]
