"""Salesforce against its local fake: SOQL lookup, one Case per conversation upserted by
its external id with a comment per event, an expired session refreshed, the check."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from relaydesk.adapters.integrations.salesforce import SalesforceIntegration
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
from relaydesk.services.integrations import (
    IntegrationConfigError,
    IntegrationWorker,
    build_integrations,
    build_one,
)
from tests.fakes.salesforce import SalesforceServer

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ENV = {"SF_ID": "3MVG9-key", "SF_SECRET": "sf-secret"}


@pytest.fixture
def salesforce() -> Iterator[SalesforceServer]:
    with SalesforceServer() as server:
        server.state.contacts.append(
            {"Id": "003A", "Phone": "+34600000001", "VIP__c": True, "Plan__c": "Gold"}
        )
        yield server


def spec(url: str, **more: object) -> Spec:
    return Spec.model_validate(
        {
            "kind": "salesforce",
            "base_url": url,
            "secrets": {"client_id": "SF_ID", "client_secret": "SF_SECRET"},
            "attributes": {"vip": "VIP__c", "plan": "Plan__c"},
            "timeout": "1s",
            **more,
        }
    )


def client(url: str, secret: str = "sf-secret") -> SalesforceIntegration:  # noqa: S107
    return SalesforceIntegration(
        "sf",
        url,
        client_id="3MVG9-key",
        client_secret=secret,
        fields=("VIP__c", "Plan__c"),
        timeout=1,
    )


def test_a_contact_is_found_by_phone_through_soql_and_mapped(salesforce: SalesforceServer) -> None:
    sf = client(salesforce.url)
    try:
        record = sf.lookup("34600000001")
        assert record is not None
        assert attributes_of(record, spec(salesforce.url).attributes) == {
            "vip": "true",
            "plan": "gold",
        }
        assert sf.lookup("34600000999") is None
        salesforce.state.expire_sessions()
        assert sf.lookup("34600000001") is not None  # a new token, the same answer
        assert salesforce.state.tokens_issued == 2
    finally:
        sf.close()


def test_a_field_name_that_could_inject_soql_is_refused_at_start(
    salesforce: SalesforceServer,
) -> None:
    bad = spec(salesforce.url, attributes={"vip": "Id,Name/**/FROM/**/User"})
    with pytest.raises(IntegrationConfigError, match="is not a Salesforce field name"):
        build_one("sf", bad, ENV)


def test_the_check_names_bad_credentials_and_a_missing_external_id_field(
    salesforce: SalesforceServer,
) -> None:
    wrong = client(salesforce.url, secret="nope-secret")
    right = client(salesforce.url)
    try:
        (problem,) = wrong.check()
        assert "refused the client credentials" in problem and "nope-secret" not in problem
        assert right.check() == []
        salesforce.state.external_id_field = False
        (missing,) = right.check()
        assert "Case has no external-id field Relaydesk_Conversation_Id__c" in missing
    finally:
        wrong.close()
        right.close()


def test_one_case_per_conversation_through_an_expired_session(
    database_url: str, salesforce: SalesforceServer
) -> None:
    db = Database(database_url)
    upgrade(db.engine)
    brief = load_brief(EXAMPLE_BRIEF).model_copy(
        update={"integrations": {"sf": spec(salesforce.url)}}
    )
    worker = IntegrationWorker(
        db,
        brief,
        build_integrations(brief, ENV),
        Metrics(),
        clock=lambda: NOW,
        rng=random.Random(5),
    )
    try:
        with db.write() as conn:
            customer = repo.upsert_customer(conn, Sender(wa_id="34600000001"), NOW)
            cid = repo.open_conversation(conn, customer, "PNID", NOW).id
            events.record(
                conn, EventKind.ESCALATED, now=NOW, conversation_id=cid, detail={"queue": "billing"}
            )
        assert worker.run_once() == 1
        salesforce.state.expire_sessions()
        with db.write() as conn:
            events.record(conn, EventKind.RESOLVED, now=NOW, conversation_id=cid)
        assert worker.run_until_idle() == 1

        (case,) = salesforce.state.cases.values()
        assert case["Relaydesk_Conversation_Id__c"] == f"relaydesk-conversation-{cid}"
        assert (case["Status"], case["Origin"]) == ("Closed", "WhatsApp")
        assert [c["ParentId"] for c in salesforce.state.comments] == [case["Id"]] * 2
        assert not any(c["IsPublished"] for c in salesforce.state.comments)
        assert salesforce.state.tokens_issued == 2
        with db.read() as conn:
            assert [r.status for r in box.for_conversation(conn, "sf", cid)] == ["done", "done"]
    finally:
        worker.close()
        db.dispose()
