"""The webhook benchmark's own arithmetic: how it counts a message as fully processed from
the target's rows, reads the stage CPU counters, and builds the everyday mix."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

from bench import _ledger, _mix, _procstats
from bench import _loadgen as lg
from bench.webhooks import whole_step_rate

T0 = datetime(2026, 12, 4, 20, 0, 0)  # naive UTC, as SQLite returns it


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message(id: int, wamid: str) -> SimpleNamespace:
    return SimpleNamespace(id=id, wamid=wamid)


def decision(message_id: int, conversation_id: int, seconds: float) -> SimpleNamespace:
    return SimpleNamespace(
        message_id=message_id, conversation_id=conversation_id, created_at=at(seconds)
    )


def outbox(conversation_id: int, created: float, done: float | None, state: str) -> object:
    return SimpleNamespace(
        conversation_id=conversation_id,
        created_at=at(created),
        done_at=None if done is None else at(done),
        state=state,
    )


def test_a_message_is_processed_when_its_replies_are_delivered() -> None:
    account = _ledger._account(
        [message(1, "w1"), message(2, "w2")],
        [decision(1, 10, 1.0), decision(2, 10, 2.0)],
        # w1's reply delivered at 1.5; w2's at 4.0 (the row after w2's decision is w2's)
        [outbox(10, 1.0, 1.5, "done"), outbox(10, 2.0, 4.0, "done")],
        {"w1", "w2"},
    )
    assert account.processed_at == [at(1.5).timestamp(), at(4.0).timestamp()]
    assert (account.decided, account.processed, account.open_outbox) == (2, 2, 0)
    assert not (account.missing or account.doubled or account.unexpected)


def test_a_message_without_a_reply_is_processed_at_its_decision() -> None:
    account = _ledger._account([message(1, "w1")], [decision(1, 10, 3.0)], [], {"w1"})
    assert account.processed_at == [at(3.0).timestamp()]


def test_a_pending_reply_keeps_its_message_unprocessed() -> None:
    account = _ledger._account(
        [message(1, "w1")], [decision(1, 10, 1.0)], [outbox(10, 1.0, None, "pending")], {"w1"}
    )
    assert (account.decided, account.processed, account.open_outbox) == (1, 0, 1)


def test_violations_are_named() -> None:
    account = _ledger._account(
        [message(1, "w1"), message(2, "w2")],
        [decision(1, 10, 1.0), decision(1, 10, 1.1)],
        [],
        {"w1", "w3"},
    )
    assert account.doubled == ["w1"]  # two decisions for one message
    assert account.unexpected == ["w2"]  # stored, never acknowledged
    assert account.missing == ["w3"]  # acknowledged, never stored
    assert account.processed_between(at(0).timestamp(), at(2).timestamp()) == 1


def test_stage_cpu_is_read_from_the_exposition_and_absent_is_none() -> None:
    exposition = (
        "# HELP relaydesk_stage_cpu_seconds_total Thread CPU per stage\n"
        'relaydesk_stage_cpu_seconds_total{stage="receive"} 1.5\n'
        'relaydesk_stage_cpu_seconds_total{stage="store"} 2.0\n'
        'relaydesk_stage_cpu_seconds_total{stage="decide"} 4.0\n'
        'relaydesk_messages_total{direction="in"} 7.0\n'
    )
    after = _procstats.parse_stage_cpu(exposition)
    assert after == {"receive": 1.5, "store": 2.0, "decide": 4.0}
    assert _procstats.parse_stage_cpu("relaydesk_messages_total 1.0\n") is None
    ms = _procstats.per_message_ms(None, after, total_cpu_s=10.0, messages=1000)
    assert ms == {"receive": 1.5, "store": 2.0, "decide": 4.0, "send": 2.5, "total": 10.0}
    missing = _procstats.per_message_ms(None, None, total_cpu_s=10.0, messages=1000)
    assert missing["decide"] is None and missing["total"] == 10.0
    assert _procstats.fmt_ms(None) == "n/a"


def test_the_everyday_mix_repeats_customers_and_is_reproducible() -> None:
    planned = _mix.plan(4000, step=3, salt="s", ts=1)
    assert planned == _mix.plan(4000, step=3, salt="s", ts=1)
    assert len({p.wamid for p in planned}) == 4000
    customers = {p.wa_id for p in planned}
    assert len(customers) <= _mix.CUSTOMERS < 4000  # so most customers write more than once
    kinds = {p.kind for p in planned}
    assert kinds == {k.name for k in _mix.MIX}
    taps = [p for p in planned if p.message["type"] == "interactive"]
    assert 0.03 < len(taps) / len(planned) < 0.09
    body = json.loads(_mix.envelope(planned[0].message, "123"))
    value = body["entry"][0]["changes"][0]["value"]
    assert value["messages"][0]["from"] == value["contacts"][0]["wa_id"] == planned[0].wa_id


def test_the_processed_rate_spans_the_step_and_its_drain() -> None:
    run = lg.Run("open", planned=4000, offered_rate=500.0, t0=100.0, t_stop=108.0)
    # 4,000 messages sent in 8 s and processed 22 s after the last send: 4,000 / 30 s
    assert whole_step_rate(4000, run, 22.0) == 4000 / 30
    assert whole_step_rate(4000, run, 0.0) == 500.0
    assert whole_step_rate(4000, run, -1.0) == 500.0  # a drain never shortens the step
