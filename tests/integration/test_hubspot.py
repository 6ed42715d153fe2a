"""HubSpot against its local fake, on SQLite and PostgreSQL: contact lookup, one ticket
per conversation (upserted by its unique property) with a note per event, faults, and
the check naming a missing scope."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.adapters.integrations.hubspot import HubSpotIntegration
from relaydesk.adapters.storage import integration_outbox as box
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.brief.integrations import Integration as Spec
from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.channel import Sender
from relaydesk.observability import Metrics
from relaydesk.services import events
from relaydesk.services.crm_lookup import attributes_of
from relaydesk.services.events import EventKind
from relaydesk.services.integrations import IntegrationWorker, build_integrations
from tests.fakes.hubspot import HubSpotServer
from tests.fakes.zendesk import Fault

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def hubspot() -> Iterator[HubSpotServer]:
    with HubSpotServer() as server:
        server.state.contacts.append(
            {"id": "51", "properties": {"phone": "+34600000001", "plan": "Gold", "vip": "true"}}
        )
        yield server


def spec(url: str) -> Spec:
    return Spec.model_validate(
        {
            "kind": "hubspot",
            "base_url": url,
            "secrets": {"access_token": "HS_TOKEN"},
            "attributes": {"vip": "properties.vip", "plan": "properties.plan"},
            "timeout": "1s",
        }
    )


def test_a_contact_is_found_by_phone_and_mapped(hubspot: HubSpotServer) -> None:
    parsed = spec(hubspot.url)
    client = HubSpotIntegration(
        "hs", hubspot.url, access_token="pat-na1-test", properties=("vip", "plan"), timeout=1
    )
    try:
        record = client.lookup("34600000001")
        assert record is not None
        assert attributes_of(record, parsed.attributes) == {"vip": "true", "plan": "gold"}
        assert client.lookup("34600000999") is None
    finally:
        client.close()


def test_the_check_names_a_missing_scope_and_a_bad_token(hubspot: HubSpotServer) -> None:
    hubspot.state.scopes.discard("tickets")
    good = HubSpotIntegration("hs", hubspot.url, access_token="pat-na1-test", timeout=1)
    bad = HubSpotIntegration("hs", hubspot.url, access_token="wrong", timeout=1)
    try:
        (problem,) = good.check()
        assert "lacks the crm.objects.tickets.read/write scopes" in problem
        assert all("rejected the access token" in p for p in bad.check())
        assert not any("wrong" in p for p in bad.check())
    finally:
        good.close()
        bad.close()


def test_one_ticket_per_conversation_with_a_note_per_event_through_faults(
    database_url: str, hubspot: HubSpotServer
) -> None:
    db = Database(database_url)
    upgrade(db.engine)
    brief = load_brief(EXAMPLE_BRIEF).model_copy(update={"integrations": {"hs": spec(hubspot.url)}})
    now = [NOW]
    worker = IntegrationWorker(
        db,
        brief,
        build_integrations(brief, {"HS_TOKEN": "pat-na1-test"}),
        Metrics(),
        clock=lambda: now[0],
        rng=random.Random(3),
    )
    try:
        with db.write() as conn:
            customer = repo.upsert_customer(conn, Sender(wa_id="34600000001"), NOW)
            cid = repo.open_conversation(conn, customer, "PNID", NOW).id
            for kind in (EventKind.ESCALATED, EventKind.RESOLVED, EventKind.CSAT):
                events.record(
                    conn,
                    kind,
                    now=NOW,
                    conversation_id=cid,
                    detail={"rating": 4} if kind is EventKind.CSAT else {},
                )
        hubspot.state.faults += [Fault(429, {"Retry-After": "10"}), Fault(200, body=b"[]")]
        worker.run_once()  # 429
        now[0] += timedelta(seconds=10)
        worker.run_once()  # garbage on the upsert
        now[0] += timedelta(minutes=1)
        worker.run_until_idle()

        (ticket,) = hubspot.state.tickets.values()
        assert ticket["properties"]["relaydesk_conversation_id"] == f"relaydesk-conversation-{cid}"
        assert ticket["properties"]["hs_pipeline_stage"] == "4"  # closed by the resolution
        assert [n["associations"][0]["to"]["id"] for n in hubspot.state.notes] == [ticket["id"]] * 3
        assert "rating: 4" in hubspot.state.notes[-1]["properties"]["hs_note_body"]
        with db.read() as conn:
            assert [r.status for r in box.for_conversation(conn, "hs", cid)] == ["done"] * 3
    finally:
        worker.close()
        db.dispose()
