"""X-Hub-Signature-256: HMAC-SHA256 over the exact raw request bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relaydesk.adapters.whatsapp.webhook import sign, verify_signature

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "whatsapp-samples"
SECRET = "test-app-secret"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def sample_bytes(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is missing; check out the shared WhatsApp samples next to the repo")
    return path.read_bytes()


def test_sign_matches_a_known_hmac_sha256_vector() -> None:
    body = b"The quick brown fox jumps over the lazy dog"
    assert sign(body, "key") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_correct_signature_is_accepted() -> None:
    assert verify_signature(BODY, sign(BODY, SECRET), SECRET)


def test_signature_from_another_app_secret_is_refused() -> None:
    assert not verify_signature(BODY, sign(BODY, "another-secret"), SECRET)


def test_changed_body_is_refused() -> None:
    assert not verify_signature(BODY + b" ", sign(BODY, SECRET), SECRET)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(sign(BODY, SECRET).removeprefix("sha256="), id="no-prefix"),
        pytest.param("sha1=" + sign(BODY, SECRET).removeprefix("sha256="), id="sha1-prefix"),
        pytest.param("sha256=", id="prefix-only"),
        pytest.param("sha256=" + "g" * 64, id="non-hex"),
        pytest.param(sign(BODY, SECRET)[:-1], id="63-hex-digits"),
        pytest.param(sign(BODY, SECRET) + "0", id="65-hex-digits"),
        pytest.param("sha256=" + "é" * 64, id="non-ascii"),
        pytest.param(sign(BODY, SECRET).replace("=", "= ", 1), id="space-inside"),
    ],
)
def test_missing_or_malformed_header_is_refused(header: str | None) -> None:
    assert not verify_signature(BODY, header, SECRET)


def test_uppercase_hex_is_accepted() -> None:
    """Meta sends lowercase; the digest is the same number, so case does not matter."""
    header = "sha256=" + sign(BODY, SECRET).removeprefix("sha256=").upper()
    assert verify_signature(BODY, header, SECRET)


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert verify_signature(BODY, f"  {sign(BODY, SECRET)}\t", SECRET)


def test_empty_app_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="RELAYDESK_WHATSAPP_APP_SECRET"):
        verify_signature(BODY, sign(BODY, SECRET), "")
    with pytest.raises(ValueError, match="app_secret is empty"):
        sign(BODY, "")


@pytest.mark.parametrize(
    "name",
    [
        "in-reaction.pywa.json",  # emoji escaped as \ud83d\ude2e, as Meta sends it
        "in-reaction.bindambc.json",  # literal UTF-8 emoji
    ],
)
def test_hmac_is_over_raw_bytes_and_reserialising_breaks_it(name: str) -> None:
    """Parsing and dumping the body again changes the bytes, and so the signature."""
    raw = sample_bytes(name)
    header = sign(raw, SECRET)
    assert verify_signature(raw, header, SECRET)

    for reserialised in (
        json.dumps(json.loads(raw)).encode(),
        json.dumps(json.loads(raw), ensure_ascii=False).encode(),
        json.dumps(json.loads(raw), indent=2).encode(),
    ):
        assert reserialised != raw
        assert not verify_signature(reserialised, header, SECRET)


def test_escaped_and_literal_emoji_bodies_sign_differently() -> None:
    """The same JSON value with `\\u` escapes or literal UTF-8 is different bytes to sign."""
    escaped = b'{"emoji":"\\ud83d\\ude2e"}'
    literal = '{"emoji":"\U0001f62e"}'.encode()
    assert json.loads(escaped) == json.loads(literal)
    assert sign(escaped, SECRET) != sign(literal, SECRET)
    assert not verify_signature(literal, sign(escaped, SECRET), SECRET)
