"""WhatsApp webhook POSTs: check the signature, then turn the body into channel events.

`verify_signature` runs on the raw request bytes, before anything parses them.
`parse_webhook` walks the JSON with plain isinstance checks (it runs on every webhook, so no
model validation of the whole body) and loops over every entry, change, message and status.

Two kinds of trouble, handled differently:

- the body is not a WhatsApp webhook at all (not JSON, wrong `object`, `entry` or `changes`
  not lists, a `messages` change without `metadata.phone_number_id`, ...): `WebhookPayloadError`
  naming the JSON path, and no events. When only some entries or changes are like that and
  others give events, those are skipped with a warning instead and the events kept;
- one item inside a sound envelope is malformed (a message without `id` or a usable sender, a
  timestamp that is not a number, an id too long to store): that item is skipped with a
  warning naming its path, and the rest of the batch still parses.

Nothing it returns can be refused by storage: `_decode.load` repairs poison strings and numbers
in the whole document first, ids longer than their columns are refused, and free text is cut
to WhatsApp's 4,096 characters (so understanding never reads megabytes). Warnings name paths
and kinds, echo at most ~60 characters of a structural value (a type, a status), and never a
customer's text or number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from relaydesk.adapters.whatsapp import _decode
from relaydesk.adapters.whatsapp._parser import Parser, WebhookPayloadError
from relaydesk.adapters.whatsapp._readers import (
    CONTRACT_MESSAGE_TYPES,
    KNOWN_FIELDS,
    describe,
    kind_of,
)
from relaydesk.domain.channel import WebhookEvent

__all__ = [
    "CONTRACT_MESSAGE_TYPES",
    "KNOWN_FIELDS",
    "SIGNATURE_HEADER",
    "WARNINGS_MAX",
    "WEBHOOK_OBJECT",
    "ParsedWebhook",
    "WebhookPayloadError",
    "parse_webhook",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Hub-Signature-256"
WEBHOOK_OBJECT = "whatsapp_business_account"

#: warnings kept per body; the rest are counted in one last warning (each is a log line)
WARNINGS_MAX = 50
_SIGNATURE_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


# --- signature -------------------------------------------------------------------------------


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta would send for `body` (for the sandbox and tests)."""
    return _SIGNATURE_PREFIX + _digest(body, app_secret).hex()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is `sha256=<hex>` of HMAC-SHA256(body, app_secret).

    `body` must be the exact request bytes: parsing and re-serialising changes them. The hex
    is compared case-insensitively (Meta sends lowercase) and in constant time. A missing or
    malformed header is simply False.
    """
    expected = _digest(body, app_secret)
    if header is None:
        return False
    header = header.strip()
    if not header.startswith(_SIGNATURE_PREFIX):
        return False
    given = header[len(_SIGNATURE_PREFIX) :]
    if _HEX_DIGEST.fullmatch(given) is None:
        return False
    return hmac.compare_digest(expected, bytes.fromhex(given))


def _digest(body: bytes, app_secret: str) -> bytes:
    if not app_secret:
        raise ValueError(
            "app_secret is empty; set RELAYDESK_WHATSAPP_APP_SECRET to the App Secret "
            "(App Dashboard > Settings > Basic) of the app that subscribes to the webhook"
        )
    return hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).digest()


# --- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """Every event in one webhook body, in body order, and what was skipped or unknown."""

    events: tuple[WebhookEvent, ...]
    warnings: tuple[str, ...] = ()


def parse_webhook(body: bytes) -> ParsedWebhook:
    """Parse a webhook POST body (raw bytes) into events; see the module docstring."""
    try:
        doc, repaired = _decode.load(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise WebhookPayloadError(
            "", f"request body is not JSON ({exc}); expected a WhatsApp webhook JSON object"
        ) from exc
    if not isinstance(doc, dict):
        raise WebhookPayloadError(
            "", f"request body is {kind_of(doc)}; expected a JSON object with an 'entry' list"
        )
    obj = doc.get("object")
    if obj != WEBHOOK_OBJECT:
        raise WebhookPayloadError(
            "object",
            f"object is {describe(obj)}; expected {WEBHOOK_OBJECT!r} "
            "(only WhatsApp Business Account webhooks are accepted here)",
        )
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise WebhookPayloadError(
            "entry", f"entry is {kind_of(entries)}; expected a list of entry objects"
        )
    parser = Parser()
    if repaired is not None:
        parser.warnings.append(repaired)
    refused: list[WebhookPayloadError] = []
    for i, entry in enumerate(entries):
        try:
            _entry(parser, entry, f"entry[{i}]", refused)
        except WebhookPayloadError as exc:
            refused.append(exc)
    if refused and not parser.events:
        raise refused[0]
    parser.warnings.extend(f"{exc}; skipped, the rest of the body kept" for exc in refused)
    warnings = parser.warnings
    if len(warnings) > WARNINGS_MAX:
        more = len(warnings) - WARNINGS_MAX
        warnings = [*warnings[:WARNINGS_MAX], f"... and {more:,} more warnings in this body"]
    return ParsedWebhook(tuple(parser.events), tuple(warnings))


def _entry(parser: Parser, entry: object, path: str, refused: list[WebhookPayloadError]) -> None:
    """One `entry[]`: its changes go to `parser`; a malformed change goes to `refused`."""
    if not isinstance(entry, dict):
        raise WebhookPayloadError(path, f"{path} is {kind_of(entry)}; expected an entry object")
    changes = entry.get("changes")
    if not isinstance(changes, list):
        raise WebhookPayloadError(
            f"{path}.changes",
            f"{path}.changes is {kind_of(changes)}; expected a list of change objects",
        )
    for j, change in enumerate(changes):
        try:
            parser.change(change, f"{path}.changes[{j}]")
        except WebhookPayloadError as exc:
            refused.append(exc)
