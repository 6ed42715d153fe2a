"""The integration outbox against a local Zendesk and a Standard Webhooks receiver, on
SQLite and PostgreSQL: contract, faults, an hour-long outage, dead letters."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relaydesk.adapters.storage import integration_outbox as box
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.brief.integrations import Integration as Spec
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.channel import Sender
from relaydesk.observability import Metrics
from relaydesk.services import events
from relaydesk.services.events import EventKind
from relaydesk.services.integrations import IntegrationWorker, build_integrations
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fakes.zendesk import Fault, ZendeskServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks docs' example
ENV = {"ZD_EMAIL": "bot@example.com", "ZD_TOKEN": "zd-token", "HOOK_SECRET": SECRET}


METRICS: list[Metrics] = []  #: each worker's, newest last


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


Maker = Callable[[Brief, "Clock"], IntegrationWorker]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def zendesk() -> Iterator[ZendeskServer]:
    with ZendeskServer() as server:
        yield server


def brief_with(**integrations: dict[str, Any]) -> Brief:
    brief = load_brief(EXAMPLE_BRIEF)
    specs = {name: Spec.model_validate(spec) for name, spec in integrations.items()}
    return brief.model_copy(update={"integrations": specs})


def zendesk_spec(url: str, **more: Any) -> dict[str, Any]:
    return {
        "kind": "zendesk",
        "base_url": url,
        "secrets": {"email": "ZD_EMAIL", "api_token": "ZD_TOKEN"},
        "timeout": "1s",
        **more,
    }


@pytest.fixture
def workers() -> Iterator[list[IntegrationWorker]]:
    made: list[IntegrationWorker] = []
    yield made
    for w in made:
        w.close()


@pytest.fixture
def worker(
    db: Database, workers: list[IntegrationWorker]
) -> Callable[[Brief, Clock], IntegrationWorker]:
    def make(brief: Brief, clock: Clock) -> IntegrationWorker:
        METRICS.append(Metrics())
        built = build_integrations(brief, ENV)
        made = IntegrationWorker(db, brief, built, METRICS[-1], clock=clock, rng=random.Random(7))
        workers.append(made)
        return made

    return make


def conversation(db: Database, wa_id: str, now: datetime) -> int:
    with db.write() as conn:
        customer = repo.upsert_customer(conn, Sender(wa_id=wa_id), now)
        return repo.open_conversation(conn, customer, "PNID", now).id


def record(
    db: Database, kind: EventKind, conversation_id: int, now: datetime, **detail: Any
) -> None:
    with db.write() as conn:
        events.record(conn, kind, now=now, conversation_id=conversation_id, detail=detail)


def test_zendesk_ticket_is_made_once_then_updated_and_solved_with_the_rating(
    db: Database, zendesk: ZendeskServer, worker: Maker
) -> None:
    """Escalation makes the ticket (internal note, tags); assignment, resolution and CSAT
    update that same ticket, found by its external id."""
    clock = Clock()
    w = worker(brief_with(zd=zendesk_spec(zendesk.url)), clock)
    cid = conversation(db, "34600000001", clock.now)
    record(db, EventKind.ESCALATED, cid, clock.now, queue="billing", priority="P2", tier=1)
    record(db, EventKind.ASSIGNED, cid, clock.now, agent_id=3, queue="billing", how="take")
    record(db, EventKind.RESOLVED, cid, clock.now)
    record(db, EventKind.CSAT, cid, clock.now, rating=5)

    assert w.run_until_idle() == 4

    (ticket,) = zendesk.state.tickets.values()
    assert ticket["external_id"] == f"relaydesk-conversation-{cid}"
    assert ticket["status"] == "solved"
    assert {"relaydesk", "csat_5"} <= set(ticket["tags"])
    assert [c["public"] for c in ticket["comments"]] == [False] * 4
    assert ticket["comments"][0]["body"].startswith("Escalated from WhatsApp")
    with db.read() as conn:
        rows = box.for_conversation(conn, "zd", cid)
    assert [r.status for r in rows] == ["done"] * 4


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500),
        Fault(429, {"Retry-After": "120"}),
        Fault(200, body=b"<html>not json"),
        Fault(200, delay=1.5),  # past the 1 s timeout
    ],
    ids=["500", "429", "garbage", "timeout"],
)
def test_a_failed_write_is_retried_later_and_written_once(
    db: Database, zendesk: ZendeskServer, fault: Fault, worker: Maker
) -> None:
    clock = Clock()
    w = worker(brief_with(zd=zendesk_spec(zendesk.url)), clock)
    cid = conversation(db, "34600000002", clock.now)
    record(db, EventKind.ESCALATED, cid, clock.now, queue="general")
    zendesk.fail(fault)

    w.run_once()
    with db.read() as conn:
        (row,) = box.for_conversation(conn, "zd", cid)
    assert row.status == "pending" and row.last_error
    wait = row.due_at - clock.now
    if fault.status == 429:
        assert wait == timedelta(seconds=120)  # Retry-After honoured
    else:
        assert timedelta(seconds=1) <= wait <= timedelta(seconds=2)  # first backoff, jittered
    assert w.run_once() == 0  # not before it is due
    clock.now += wait
    assert w.run_once() == 1
    assert len(zendesk.state.tickets) == 1


def test_a_refused_request_is_dead_lettered_and_a_person_can_retry_it(
    db: Database, zendesk: ZendeskServer, worker: Maker
) -> None:
    clock = Clock()
    w = worker(brief_with(zd=zendesk_spec(zendesk.url)), clock)
    cid = conversation(db, "34600000003", clock.now)
    record(db, EventKind.ESCALATED, cid, clock.now, queue="general")
    zendesk.fail(Fault(422, body=b'{"error": "RecordInvalid", "description": "Subject"}'))

    w.run_once()
    registry = METRICS[-1].registry
    labels = {"integration": "zd", "status": "dead"}
    assert registry.get_sample_value("relaydesk_integration_outbox", labels) == 1
    written = {"integration": "zd", "result": "dead"}
    assert registry.get_sample_value("relaydesk_integration_writes_total", written) == 1
    with db.write() as conn:
        (dead,) = box.dead_letters(conn)
        assert dead.last_error and "422" in dead.last_error and "RecordInvalid" in dead.last_error
        assert box.revive(conn, dead.id, clock.now)
        assert not box.revive(conn, dead.id, clock.now)  # no longer a dead letter
    assert w.run_once() == 1
    assert len(zendesk.state.tickets) == 1
    assert registry.get_sample_value("relaydesk_integration_outbox", labels) is None


def test_an_hour_long_outage_loses_nothing_doubles_nothing_and_keeps_order(
    db: Database, zendesk: ZendeskServer, worker: Maker
) -> None:
    """Zendesk answers 503 for an hour while three conversations go on; when it is back,
    each conversation's events are written once each, in the order they happened."""
    clock = Clock()
    w = worker(brief_with(zd=zendesk_spec(zendesk.url)), clock)
    zendesk.state.down = True
    ids = [conversation(db, f"3460000001{n}", clock.now) for n in range(3)]
    for step in range(120):  # an hour, a worker round every 30 s
        if step < 3:
            for cid in ids:
                record(
                    db,
                    [EventKind.ESCALATED, EventKind.ASSIGNED, EventKind.RESOLVED][step],
                    cid,
                    clock.now,
                )
        w.run_once()
        clock.now += timedelta(seconds=30)
    assert not zendesk.state.tickets
    zendesk.state.down = False
    clock.now += timedelta(minutes=10)  # the longest backoff
    w.run_until_idle()

    assert len(zendesk.state.tickets) == 3
    for ticket in zendesk.state.tickets.values():
        heads = [c["body"].split("\n")[0] for c in ticket["comments"]]
        assert heads == [
            "Escalated from WhatsApp",
            "Assigned in Relaydesk",
            "Resolved in Relaydesk",
        ]
    creates = [r for r in zendesk.state.requests if r == ("POST", "/api/v2/tickets")]
    assert len(creates) == 3


def test_webhooks_are_signed_and_keep_their_id_across_retries(db: Database, worker: Maker) -> None:
    clock = Clock()
    clock.now = datetime.now(UTC).replace(microsecond=0)  # receivers check the timestamp
    with WebhookReceiver(SECRET) as receiver:
        spec = {
            "kind": "webhook",
            "base_url": f"{receiver.url}/hooks",
            "secrets": {"secret": "HOOK_SECRET"},
        }
        w = worker(brief_with(hook=spec), clock)
        cid = conversation(db, "34600000004", clock.now)
        record(db, EventKind.ESCALATED, cid, clock.now, queue="general", priority="P3")
        receiver.state.statuses.append(503)
        w.run_once()
        clock.now += timedelta(seconds=5)
        w.run_once()

    (delivered,) = receiver.state.received
    webhook_id, body = delivered
    assert webhook_id.startswith("relaydesk-hook-")
    assert body["type"] == "conversation.escalated"
    assert body["data"] == {"conversation_id": cid, "queue": "general", "priority": "P3"}
    assert receiver.state.rejected == 0


def test_events_wait_for_no_integration_when_none_is_configured(
    db: Database, worker: Maker
) -> None:
    clock = Clock()
    w = worker(load_brief(EXAMPLE_BRIEF), clock)
    cid = conversation(db, "34600000005", clock.now)
    record(db, EventKind.ESCALATED, cid, clock.now)
    assert w.run_once() == 0
    with db.read() as conn:
        assert box.depth(conn) == {}


def test_a_failed_whatsapp_message_reaches_webhooks_but_not_crms_by_default(
    db: Database, zendesk: ZendeskServer, worker: Maker
) -> None:
    """A `failed` status webhook (as the inbound path stores it) is a `message.failed`
    event for the webhook; the CRM, not subscribed by default, gets nothing."""
    from relaydesk.adapters.storage.tables import messages
    from relaydesk.domain.channel import DeliveryStatus

    clock = Clock()
    clock.now = datetime.now(UTC).replace(microsecond=0)
    with WebhookReceiver(SECRET) as receiver:
        hook = {
            "kind": "webhook",
            "base_url": f"{receiver.url}/hooks",
            "secrets": {"secret": "HOOK_SECRET"},
        }
        w = worker(brief_with(zd=zendesk_spec(zendesk.url), hook=hook), clock)
        cid = conversation(db, "34600000006", clock.now)
        with db.write() as conn:
            message_id = conn.execute(
                messages.insert()
                .values(
                    conversation_id=cid,
                    direction="out",
                    wamid="wamid.OUT1",
                    type="text",
                    text="hi",
                    payload={},
                    status=int(DeliveryStatus.ACCEPTED),
                    sent_at=clock.now,
                    created_at=clock.now,
                )
                .returning(messages.c.id)
            ).scalar_one()
            repo.advance_message(
                conn, "wamid.OUT1", DeliveryStatus.FAILED, 131047, "window closed", now=clock.now
            )
            repo.advance_message(
                conn, "wamid.OUT1", DeliveryStatus.FAILED, 131047, "again", now=clock.now
            )
        assert w.run_until_idle() == 1

    ((_, body),) = receiver.state.received
    assert body["type"] == "message.failed"
    assert body["data"] == {"conversation_id": cid, "message_id": message_id, "error_code": 131047}
    assert not zendesk.state.tickets


class Broken:
    """An integration whose code fails in an unforeseen way (a bug, not an API answer)."""

    name = "zd"

    def lookup(self, phone: str) -> dict[str, Any] | None:
        return None

    def write(self, item: Any) -> None:
        raise KeyError("id")

    def check(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def test_an_unforeseen_error_is_retried_then_dead_lettered_not_stuck(db: Database) -> None:
    clock = Clock()
    brief = brief_with(zd=zendesk_spec("http://127.0.0.1:9", give_up_after="1h"))
    w = IntegrationWorker(db, brief, {"zd": Broken()}, Metrics(), clock=clock, rng=random.Random(1))
    cid = conversation(db, "34600000007", clock.now)
    record(db, EventKind.ESCALATED, cid, clock.now)
    w.run_once()
    with db.read() as conn:
        (row,) = box.for_conversation(conn, "zd", cid)
    assert (row.status, row.last_error) == ("pending", "zd: KeyError")
    clock.now += timedelta(hours=1)
    w.run_once()
    with db.read() as conn:
        (row,) = box.for_conversation(conn, "zd", cid)
    assert row.status == "dead"


def test_zendesk_finds_a_user_by_phone_or_else_by_external_id(zendesk: ZendeskServer) -> None:
    from relaydesk.adapters.integrations.zendesk import ZendeskIntegration

    zendesk.state.users += [
        {"id": 1, "phone": "+34600000001", "user_fields": {"vip": True}},
        {"id": 2, "phone": None, "external_id": "34600000002", "user_fields": {"plan": "gold"}},
    ]
    client = ZendeskIntegration(
        "zd", zendesk.url, email=zendesk.state.email, api_token=zendesk.state.token, timeout=1
    )
    try:
        assert (client.lookup("34600000001") or {}).get("id") == 1
        assert (client.lookup("34600000002") or {}).get("id") == 2
        assert client.lookup("34600000003") is None
    finally:
        client.close()
