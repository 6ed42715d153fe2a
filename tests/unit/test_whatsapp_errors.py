from __future__ import annotations

import random

import pytest

from relaydesk.adapters.whatsapp.errors import (
    ErrorAction,
    GraphError,
    GraphTransportError,
    classify,
    retry_delay,
)

RETRY = ErrorAction.RETRY
RETRY_RECIPIENT = ErrorAction.RETRY_RECIPIENT
FAIL = ErrorAction.FAIL
REENGAGE = ErrorAction.REENGAGE
STOP_NUMBER = ErrorAction.STOP_NUMBER
AUTH = ErrorAction.AUTH

# Every code in the cloud API doc §3.8, in its order.
TABLE_3_8 = [
    (130429, RETRY),  # throughput reached: backoff with jitter
    (131056, RETRY_RECIPIENT),  # pair rate limit: only this recipient waits 4**n s
    (80007, RETRY),  # WABA rate limit: retry later
    (4, RETRY),  # app-level call limit: retry later
    (131048, STOP_NUMBER),  # spam rate limit: stop hammering, alert, check quality
    (131000, RETRY),  # something went wrong (temporary)
    (131016, RETRY),  # service unavailable (temporary)
    (133004, RETRY),  # server temporarily unavailable
    (1, RETRY),  # unknown API error (temporary)
    (2, RETRY),  # API service error (temporary)
    (131047, REENGAGE),  # 24-h window closed: send a template instead
    (131026, FAIL),  # undeliverable: mark contact unreachable
    (131051, FAIL),  # unsupported message type: fix the request
    (131049, FAIL),  # per-user marketing limit: not for at least 24 h
    (131050, FAIL),  # user stopped marketing messages: respect the opt-out
    (130472, FAIL),  # user in a marketing experiment
    (100, FAIL),  # invalid parameter
    (131008, FAIL),  # required parameter missing
    (131009, FAIL),  # parameter value invalid
    (131030, FAIL),  # recipient not in allowed list (test numbers)
    (131021, FAIL),  # sender is the recipient: a bug
    (131052, FAIL),  # media download error
    (131053, FAIL),  # media upload error
    (131062, FAIL),  # BSUID recipient not supported: send to the phone number
    (132000, FAIL),  # template: parameter count mismatch
    (132001, FAIL),  # template: name/language does not exist
    (132005, FAIL),  # template: hydrated text too long
    (132007, FAIL),  # template: format character policy
    (132012, FAIL),  # template: parameter format mismatch
    (132015, FAIL),  # template: paused
    (132016, FAIL),  # template: disabled
    (132018, FAIL),  # template: invalid parameter
    (190, AUTH),  # access token expired
    (0, AUTH),  # AuthException
    (10, AUTH),  # permission denied
    (200, AUTH),  # permission range, low end
    (250, AUTH),  # permission range, middle
    (299, AUTH),  # permission range, high end
    (368, STOP_NUMBER),  # blocked for policy violations: stop, alert humans
    (131031, STOP_NUMBER),  # account locked
    (130497, FAIL),  # one destination country restricted: the number still serves others
    (131042, STOP_NUMBER),  # payment/eligibility: retries extend the block
    (131057, RETRY),  # maintenance mode: retry later
]


@pytest.mark.parametrize(("code", "action"), TABLE_3_8)
@pytest.mark.parametrize("http_status", [400, 401, 403, 429, 500])
def test_every_documented_code_is_classified_by_code_not_status(
    code: int, action: ErrorAction, http_status: int
) -> None:
    assert classify(code, http_status) is action


@pytest.mark.parametrize(
    ("code", "http_status", "action"),
    [
        (999999, 500, RETRY),  # unknown code, server side: temporary
        (999999, 503, RETRY),  # unknown code, server side: temporary
        (999999, 400, FAIL),  # unknown code, our request: don't repeat it
        (999999, 404, FAIL),  # unknown code, our request: don't repeat it
        (999999, 429, RETRY),  # unknown code but throttled: retry later
        (999999, 401, AUTH),  # unknown code, unauthenticated: fix the token
        (None, 502, RETRY),  # HTML from a proxy: temporary
        (None, 400, FAIL),  # no envelope at all on a 4xx
        (None, 200, RETRY),  # unreadable 2xx: retried, but GraphError marks it ambiguous
        (None, None, RETRY),  # nothing to go on
        (132099, 400, FAIL),  # anywhere in the 1320xx template range
        (300, 400, FAIL),  # just past the permission range
    ],
)
def test_unknown_codes_fall_back_to_the_http_status(
    code: int | None, http_status: int | None, action: ErrorAction
) -> None:
    assert classify(code, http_status) is action


class TestRetryDelay:
    def test_retry_is_full_jitter_under_an_exponential_ceiling(self) -> None:
        rng = random.Random(7)
        for attempt, ceiling in [(0, 1.0), (1, 2.0), (3, 8.0), (6, 60.0), (50, 60.0)]:
            delays = [retry_delay(RETRY, attempt, rng=rng) for _ in range(200)]
            assert all(0.0 <= d <= ceiling for d in delays)
            assert max(delays) > ceiling * 0.8  # jitter spans the whole range

    def test_retry_is_reproducible_with_a_seeded_rng(self) -> None:
        first = retry_delay(RETRY, 4, rng=random.Random(1))
        assert retry_delay(RETRY, 4, rng=random.Random(1)) == first

    @pytest.mark.parametrize(
        ("attempt", "seconds"),
        [(0, 1.0), (1, 4.0), (2, 16.0), (3, 64.0), (6, 4096.0), (40, 4096.0)],
    )
    def test_pair_rate_waits_four_to_the_attempt(self, attempt: int, seconds: float) -> None:
        assert retry_delay(RETRY_RECIPIENT, attempt, rng=random.Random(0)) == seconds

    @pytest.mark.parametrize("action", [FAIL, REENGAGE, STOP_NUMBER, AUTH])
    def test_other_actions_have_no_delay(self, action: ErrorAction) -> None:
        with pytest.raises(ValueError, match=f"{action.name} is not retried"):
            retry_delay(action, 0, rng=random.Random(0))

    def test_negative_attempt_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="attempt is -1"):
            retry_delay(RETRY, -1, rng=random.Random(0))


ENVELOPE = {
    "error": {
        "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "type": "OAuthException",
        "code": 131056,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Message failed to send because there were too many messages",
        },
        "error_subcode": 2494055,
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
}


class TestGraphError:
    def test_from_envelope(self) -> None:
        error = GraphError.from_envelope(400, ENVELOPE)
        assert error is not None
        assert error.code == 131056
        assert error.http_status == 400
        assert error.details == "Message failed to send because there were too many messages"
        assert error.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
        assert error.action is RETRY_RECIPIENT
        assert error.ambiguous is False
        assert str(error) == (
            "Graph API error 131056 (pair rate limit): Message failed to send because there "
            "were too many messages [fbtrace_id=Az8or2yhqkZfEZ-_4Qn_Bam]"
        )

    def test_details_fall_back_to_message_and_trace_to_header(self) -> None:
        payload = {"error": {"message": "(#100) Invalid parameter", "code": 100}}
        error = GraphError.from_envelope(400, payload, fbtrace_id="from-header")
        assert error is not None
        assert str(error) == (
            "Graph API error 100 (invalid parameter): (#100) Invalid parameter "
            "[fbtrace_id=from-header]"
        )

    def test_unknown_code_uses_the_title(self) -> None:
        error = GraphError(code=555, http_status=400, title="Brand new", details="d")
        assert str(error) == "Graph API error 555 (Brand new): d"

    @pytest.mark.parametrize("payload", [None, [], "oops", {"error": "x"}, {"data": {}}])
    def test_non_envelopes_are_none(self, payload: object) -> None:
        assert GraphError.from_envelope(400, payload) is None

    def test_missing_code_is_none_and_the_status_decides(self) -> None:
        error = GraphError.from_envelope(503, {"error": {"message": "down"}})
        assert error is not None
        assert error.code is None
        assert error.action is RETRY
        assert str(error) == "Graph API error (HTTP 503, no error code): down"


def test_transport_error_carries_ambiguity_and_is_retryable() -> None:
    error = GraphTransportError("read timeout", ambiguous=True)
    assert error.ambiguous is True
    assert error.action is RETRY
    assert str(error) == "read timeout"
