"""Property: whatever a signed body holds, parse_webhook either refuses it as not a webhook
(WebhookPayloadError) or returns events that storage accepts, with short warnings.

Bodies are the shared real samples with a few values replaced by hostile ones (wrong types,
lone surrogates, NUL, huge numbers, long strings, missing senders)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaydesk.adapters.whatsapp import _readers as limits
from relaydesk.adapters.whatsapp.webhook import ParsedWebhook, WebhookPayloadError, parse_webhook
from relaydesk.domain.channel import IdentityChange, InboundMessage, StatusUpdate

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "whatsapp-samples"
DOCS = [json.loads(p.read_bytes()) for p in sorted(SAMPLES.glob("*.json"))]
KEYS = ["from", "from_user_id", "wa_id", "user_id", "id", "type", "timestamp", "code", "status"]

hostile = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            0,
            -1,
            2**31,
            2**63,
            2**64,
            -(2**63) - 1,
            "",
            "\ud83d",
            "\udc00x\ud83d",
            "a\x00b",
            "\ud83d\ude00",
            "9" * 30,
            [],
            {},
        ]
    ),
    st.text(max_size=20),
    st.text(min_size=4097, max_size=4200),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
)


def _containers(doc: Any) -> list[Any]:
    found = [doc]
    stack = [doc]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                found.append(child)
                stack.append(child)
    return found


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    doc = json.loads(json.dumps(draw(st.sampled_from(DOCS))))
    for _ in range(draw(st.integers(1, 4))):
        node = draw(st.sampled_from(_containers(doc)))
        value = copy.deepcopy(draw(hostile))  # never share a drawn [] or {} across cases
        if isinstance(node, dict):
            keys = sorted(node) + KEYS
            key = draw(st.sampled_from(keys))
            if draw(st.booleans()) and key in node:
                del node[key]
            else:
                node[key] = value
        elif node:
            node[draw(st.integers(0, len(node) - 1))] = value
    # NaN/Infinity are what a hostile sender can put in a body (json.dumps writes them)
    return json.dumps(doc).encode()


def assert_storable(parsed: ParsedWebhook) -> None:
    for event in parsed.events:
        stack: list[Any] = [event]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                node.encode("utf-8")
                assert "\x00" not in node
            elif isinstance(node, float):
                assert math.isfinite(node)
            elif isinstance(node, dict):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, list | tuple):
                stack.extend(node)
            elif dataclasses.is_dataclass(node) and not isinstance(node, type):
                stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
        for error in getattr(event, "errors", ()):
            assert limits.CODE_MIN <= error.code <= limits.CODE_MAX
        if isinstance(event, InboundMessage):
            sender = event.sender
            assert sender.wa_id or sender.user_id
            assert len(event.wamid) <= limits.WAMID_MAX
            assert len(event.type) <= limits.TYPE_MAX
            assert len(event.phone_number_id) <= limits.PHONE_NUMBER_ID_MAX
            assert len(sender.wa_id or "") <= limits.WA_ID_MAX
            assert len(sender.user_id or "") <= limits.USER_ID_MAX
            assert len(sender.profile_name or "") <= limits.NAME_MAX
            assert event.text is None or len(event.text) <= limits.TEXT_MAX
        elif isinstance(event, StatusUpdate):
            assert len(event.wamid) <= limits.WAMID_MAX
            assert len(event.callback_data or "") <= limits.CALLBACK_DATA_MAX
        elif isinstance(event, IdentityChange):
            assert len(event.kind) <= limits.KIND_MAX
            assert len(event.new_wa_id or "") <= limits.WA_ID_MAX
    for warning in parsed.warnings:
        assert len(warning) < 400


@pytest.mark.skipif(not DOCS, reason=f"no samples in {SAMPLES}; check out the shared samples")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_bodies())
def test_a_mutated_sample_is_refused_as_a_whole_or_parses_into_storable_events(body: bytes) -> None:
    try:
        parsed = parse_webhook(body)
    except WebhookPayloadError as exc:
        assert len(str(exc)) < 400
        return
    assert_storable(parsed)
