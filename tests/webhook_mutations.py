"""Mutations of real WhatsApp webhook bodies, shared by the property test
(tests/acceptance/test_webhook_fuzz.py) and the long run (bench/fuzz_webhooks.py).

A mutation is a list of picks `(position, operation)`: `position` indexes (modulo) every
place in the JSON tree (a dict key or a list slot), `operation` indexes `OPERATIONS`.
Picks are plain integers so that hypothesis can draw and shrink them and a seeded
`random.Random` can replay them. Each mutated body also gets one well-formed text message
in an entry of its own (`Mutant.good_wamid`), which must be stored whenever the body is
still a WhatsApp webhook.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SURROGATE = "\ud83d"  #: half of an emoji, as a client that cut a string may send it
_DELETE = object()


def _nest(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


def _append(suffix: str) -> Callable[[Any], Any]:
    return lambda old: (old + suffix) if isinstance(old, str) else suffix


#: name -> new value from the old one (`_DELETE` removes the key or list slot)
OPERATIONS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("lone_surrogate", lambda old: SURROGATE),
    ("append_surrogate", _append(SURROGATE)),
    ("nul", _append("\x00")),
    ("nul_only", lambda old: "\x00"),
    ("int_2_64", lambda old: 2**64),
    ("int_below_min_bigint", lambda old: -(2**63) - 1),
    ("int_huge", lambda old: 10**100),
    ("float_huge", lambda old: 1e308),
    ("null", lambda old: None),
    ("true", lambda old: True),
    ("empty_string", lambda old: ""),
    ("empty_list", lambda old: []),
    ("empty_object", lambda old: {}),
    ("deep_nesting", lambda old: _nest(60)),
    ("delete", lambda old: _DELETE),
    ("number_for_string", lambda old: int(old) if isinstance(old, str) and old.isdigit() else 7),
    ("string_for_number", lambda old: str(old)),
    ("long_string", lambda old: "x" * 5000),
    ("missing_sender", lambda old: old),  # applied to the message around the position
    ("mixed_identity", lambda old: old),  # idem: from two customers seen apart
)
OPERATION_NAMES = tuple(name for name, _ in OPERATIONS)

#: where a broken value makes the whole body "not a WhatsApp webhook" (the parser answers
#: 400 naming the path): the envelope down to each change's metadata and item lists.
_ENVELOPE = (
    (),
    ("object",),
    ("entry",),
    ("entry", int),
    ("entry", int, "changes"),
    ("entry", int, "changes", int),
    ("entry", int, "changes", int, "field"),
    ("entry", int, "changes", int, "value"),
    ("entry", int, "changes", int, "value", "metadata"),
    ("entry", int, "changes", int, "value", "metadata", "phone_number_id"),
    ("entry", int, "changes", int, "value", "messages"),
    ("entry", int, "changes", int, "value", "statuses"),
)


@dataclass
class Mutant:
    body: bytes
    good_wamid: str
    envelope_touched: bool  #: a 400 is a fair answer only then
    operations: list[str]
    paths: list[tuple[Any, ...]]
    #: bodies to post first: the two separate customers a mixed identity joins
    seeds: list[bytes] = field(default_factory=list)


def load_samples(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every sample webhook (name, parsed JSON) in `directory`, sorted by name."""
    return [(p.name, json.loads(p.read_bytes())) for p in sorted(directory.glob("*.json"))]


def positions(doc: Any) -> list[tuple[Any, ...]]:
    """Every path in the tree, the root (an empty path) first."""
    found: list[tuple[Any, ...]] = [()]
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in items:
            found.append((*path, key))
            stack.append(((*path, key), child))
    return found


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return None if value is _DELETE else value
    parent = _get(doc, path[:-1])
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def _is_envelope(path: tuple[Any, ...]) -> bool:
    for pattern in _ENVELOPE:
        if len(pattern) == len(path) and all(
            (isinstance(key, int) if want is int else key == want)
            for want, key in zip(pattern, path, strict=True)
        ):
            return True
    return False


def _message_around(doc: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The path of the value (with messages and contacts) holding the message at `path`."""
    for cut in range(len(path), 0, -1):
        if path[cut - 1] == "messages" and cut < len(path) and isinstance(path[cut], int):
            return path[: cut - 1]
    return None


def _text_message(wamid: str, *, wa_id: str | None, user_id: str | None) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": "Fuzz"}}
    item: dict[str, Any] = {
        "id": wamid,
        "timestamp": "1764331200",
        "type": "text",
        "text": {"body": "where is my order?"},
    }
    if wa_id:
        contact["wa_id"] = item["from"] = wa_id
    if user_id:
        contact["user_id"] = item["from_user_id"] = user_id
    return {"contacts": [contact], "messages": [item]}


def _entry(value: dict[str, Any], phone_number_id: str = "1122334455667") -> dict[str, Any]:
    return {
        "id": "WABA-FUZZ",
        "changes": [
            {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "15550001234",
                        "phone_number_id": phone_number_id,
                    },
                    **value,
                },
            }
        ],
    }


def envelope(value: dict[str, Any]) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [_entry(value)]}).encode()


def _fresh_ids(doc: Any, token: str) -> Any:
    """Give the sample's messages and statuses wamids of their own, so that each mutant is
    processed as new (not deduplicated against the previous mutant of the same sample)."""
    for entry in doc.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value", {})
            for item in [*value.get("messages", []), *value.get("statuses", [])]:
                if isinstance(item.get("id"), str):
                    item["id"] = f"{item['id']}.{token}"
    return doc


def mutate(
    sample: dict[str, Any],
    picks: list[tuple[int, int]],
    *,
    good_slot: int,
    token: str | None = None,
) -> Mutant:
    """Apply `picks` to a copy of `sample`, then add a well-formed message in its own
    entry (at `good_slot` modulo the entries); identifiers are unique per call."""
    token = token or uuid.uuid4().hex
    doc: Any = _fresh_ids(copy.deepcopy(sample), token)
    names: list[str] = []
    paths: list[tuple[Any, ...]] = []
    seeds: list[bytes] = []
    envelope_touched = False
    for n, (position, operation) in enumerate(picks):
        spots = positions(doc)
        path = spots[position % len(spots)]
        inner = [p for p in spots if not _is_envelope(p)]
        if _is_envelope(path) and inner and position % 8 != 7:  # break the envelope less often
            path = inner[position % len(inner)]
        name, change = OPERATIONS[operation % len(OPERATIONS)]
        names.append(name)
        paths.append(path)
        if name in ("missing_sender", "mixed_identity"):
            value_path = _message_around(doc, path)
            if value_path is None:
                continue
            value = _get(doc, value_path)
            messages = value.get("messages") if isinstance(value, dict) else None
            if not isinstance(messages, list) or not messages:
                continue
            if name == "missing_sender":
                value.pop("contacts", None)
                for item in messages:
                    if isinstance(item, dict):
                        item.pop("from", None)
                        item.pop("from_user_id", None)
                continue
            wa_id, user_id = f"9{int(token[:12], 16) % 10**11:011d}{n}", f"ZZ.{token}{n}"
            seeds += [
                envelope(_text_message(f"wamid.seedwa.{token}{n}", wa_id=wa_id, user_id=None)),
                envelope(_text_message(f"wamid.seeduid.{token}{n}", wa_id=None, user_id=user_id)),
            ]
            value["contacts"] = [{"profile": {"name": "Mixed"}, "wa_id": wa_id, "user_id": user_id}]
            for item in messages:
                if isinstance(item, dict):
                    item["from"], item["from_user_id"] = wa_id, user_id
            continue
        envelope_touched = envelope_touched or _is_envelope(path)
        try:
            doc = _set(doc, path, change(_get(doc, path)))
        except (KeyError, IndexError, TypeError):
            continue
    good_wamid = f"wamid.good.{token}"
    good = _entry(
        _text_message(good_wamid, wa_id=f"8{int(token[:12], 16) % 10**11:011d}", user_id=None)
    )
    if isinstance(doc, dict) and isinstance(doc.get("entry"), list):
        entries = doc["entry"]
        entries.insert(good_slot % (len(entries) + 1), good)
    else:
        envelope_touched = True
    try:  # raw UTF-8 or \u escapes, as senders differ; a lone surrogate can only be escaped
        body = json.dumps(doc, ensure_ascii=bool(good_slot % 2)).encode()
    except UnicodeEncodeError:
        body = json.dumps(doc).encode()
    return Mutant(body, good_wamid, envelope_touched, names, paths, seeds)
