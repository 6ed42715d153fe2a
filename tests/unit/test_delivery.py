"""The outbox's send decisions (`domain.delivery`), as tables: facts and `now` in, verdict out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.adapters.whatsapp.errors import GraphError, GraphTransportError
from relaydesk.domain.delivery import (
    AMBIGUOUS,
    ERROR,
    WINDOW_CLOSED,
    Claim,
    Defer,
    DeliveryPolicy,
    Done,
    ErrorAction,
    Fail,
    LastAttempt,
    PauseNumber,
    Reengage,
    Retry,
    Send,
    SendFailure,
    SendTemplate,
    WaitReconcile,
    after_failure,
    backoff_seconds,
    before_send,
    callback_tag,
    settle,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
S = timedelta(seconds=1)
A = ErrorAction


@pytest.mark.parametrize(
    ("action", "retry", "jitter", "seconds"),
    [
        (A.RETRY, 0, 0.5, 0.5),  # first retry: up to 1 s
        (A.RETRY, 3, 1.0, 8.0),  # doubles each time
        (A.RETRY, 3, 0.0, 0.0),  # full jitter reaches down to 0
        (A.RETRY, 6, 1.0, 60.0),  # capped at a minute
        (A.RETRY, 500, 0.25, 15.0),  # a huge count neither overflows nor passes the cap
        (A.RETRY_RECIPIENT, 0, 0.9, 1.0),  # 4**n, jitter ignored
        (A.RETRY_RECIPIENT, 2, 0.0, 16.0),
        (A.RETRY_RECIPIENT, 6, 0.0, 4096.0),
        (A.RETRY_RECIPIENT, 40, 0.0, 4096.0),  # capped at 4**6 s
    ],
)
def test_backoff(action: ErrorAction, retry: int, jitter: float, seconds: float) -> None:
    assert backoff_seconds(action, retry, jitter) == seconds


@pytest.mark.parametrize(
    ("action", "retry", "jitter", "message"),
    [
        (A.FAIL, 0, 0.5, "FAIL is not retried"),
        (A.REENGAGE, 0, 0.5, "REENGAGE is not retried"),
        (A.STOP_NUMBER, 0, 0.5, "STOP_NUMBER is not retried"),
        (A.AUTH, 0, 0.5, "AUTH is not retried"),
        (A.RETRY, -1, 0.5, "count retries from 0"),
        (A.RETRY, 0, 1.5, "jitter is 1.5"),
        (A.RETRY, 0, -0.1, "jitter is -0.1"),
    ],
)
def test_backoff_refuses(action: ErrorAction, retry: int, jitter: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backoff_seconds(action, retry, jitter)


def test_callback_tag_names_the_outbox_row() -> None:
    assert callback_tag(42) == "rd:ob:42"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts is 0"),
        ({"reconcile_after": -S}, "must not be negative"),
        ({"number_pause": -S}, "must not be negative"),
    ],
)
def test_policy_refuses_nonsense(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeliveryPolicy(**kwargs)  # type: ignore[arg-type]


# --- settle: a due row tried before ----------------------------------------------------------

UNKNOWN = LastAttempt(NOW - 10 * S, None)  # in flight when the process died


@pytest.mark.parametrize(
    ("attempts", "last", "wamid", "up_since", "verdict"),
    [
        (0, None, None, None, Claim()),  # never tried: nothing to settle
        (0, UNKNOWN, "wamid.X", None, Claim()),  # only tried rows are looked at
        (1, UNKNOWN, "wamid.X", None, Done("wamid.X")),  # a status proves it arrived
        (1, LastAttempt(NOW - S, ERROR), "wamid.X", None, Done("wamid.X")),
        (1, None, None, None, Claim()),  # counted but no attempt logged: send
        (2, LastAttempt(NOW - S, ERROR), None, None, Claim()),  # a known failure: send again
        (1, UNKNOWN, None, None, WaitReconcile(NOW + 20 * S)),  # 30 s from its start
        (1, LastAttempt(NOW - S, AMBIGUOUS), None, None, WaitReconcile(NOW + 29 * S)),
        (1, LastAttempt(NOW - 30 * S, None), None, None, Claim()),  # waited long enough
        (1, LastAttempt(NOW - 31 * S, AMBIGUOUS), None, None, Claim()),
        # After a restart the wait counts from when this process came up ...
        (1, LastAttempt(NOW - 60 * S, None), None, NOW - 5 * S, WaitReconcile(NOW + 25 * S)),
        # ... unless the attempt started later than that.
        (1, UNKNOWN, None, NOW - 3600 * S, WaitReconcile(NOW + 20 * S)),
    ],
)
def test_settle(
    attempts: int,
    last: LastAttempt | None,
    wamid: str | None,
    up_since: datetime | None,
    verdict: object,
) -> None:
    got = settle(attempts, last, wamid, up_since=up_since, reconcile_after=30 * S, now=NOW)
    assert got == verdict


# --- before_send: what a claimed row sends now -----------------------------------------------

OPEN = NOW - timedelta(hours=23)  # last inbound: the 24-hour window is open
CLOSED = NOW - timedelta(hours=24)  # exactly 24 hours ago: closed


@pytest.mark.parametrize(
    ("is_template", "last_inbound", "wait", "reengagement", "verdict"),
    [
        (False, OPEN, 0.0, True, Send()),
        (False, OPEN, 0.0, False, Send()),
        (True, OPEN, 0.0, False, Send()),
        (True, CLOSED, 0.0, False, Send()),  # a template may always go
        (True, None, 0.0, True, Send()),
        (False, CLOSED, 0.0, True, SendTemplate()),
        (False, None, 0.0, True, SendTemplate()),  # never wrote to us: no window
        (False, CLOSED, 0.0, False, Fail(None, WINDOW_CLOSED)),
        (False, OPEN, 2.5, True, Defer(NOW + 2.5 * S)),  # the recipient's pair limit first
        (True, CLOSED, 16.0, False, Defer(NOW + 16 * S)),
    ],
)
def test_before_send(
    is_template: bool,
    last_inbound: datetime | None,
    wait: float,
    reengagement: bool,
    verdict: object,
) -> None:
    got = before_send(
        is_template=is_template,
        last_inbound_at=last_inbound,
        recipient_wait=wait,
        reengagement=reengagement,
        now=NOW,
    )
    assert got == verdict


def test_the_window_closed_failure_names_the_fix() -> None:
    assert "add one under templates" in WINDOW_CLOSED


# --- after_failure: what follows a failed attempt --------------------------------------------

POLICY = DeliveryPolicy(max_attempts=8, reconcile_after=30 * S, number_pause=timedelta(minutes=5))
NO_TEMPLATE = DeliveryPolicy(max_attempts=8, reconcile_after=30 * S, reengagement=False)
PAUSED = PauseNumber(NOW + timedelta(minutes=5))


def failure(action: ErrorAction, code: int | None = 1, *, ambiguous: bool = False) -> SendFailure:
    return SendFailure(action, code, "boom", ambiguous=ambiguous)


@pytest.mark.parametrize(
    ("fact", "attempts", "is_template", "policy", "verdict"),
    [
        (failure(A.RETRY), 1, False, POLICY, Retry(NOW + 0.5 * S)),  # jitter 0.5 of 1 s
        (failure(A.RETRY), 4, False, POLICY, Retry(NOW + 4 * S)),  # half of 8 s
        (failure(A.RETRY), 7, False, POLICY, Retry(NOW + 30 * S)),  # half of the 60 s cap
        (failure(A.RETRY, 4), 8, False, POLICY, Fail(4, "gave up after 8 attempts: boom")),
        (failure(A.RETRY), 9, False, POLICY, Fail(1, "gave up after 9 attempts: boom")),
        (failure(A.RETRY_RECIPIENT), 1, False, POLICY, Retry(NOW + S, recipient_backoff=1.0)),
        (failure(A.RETRY_RECIPIENT), 3, False, POLICY, Retry(NOW + 16 * S, recipient_backoff=16)),
        (
            failure(A.RETRY_RECIPIENT, 131056),
            8,
            False,
            POLICY,
            Fail(131056, "gave up after 8 attempts: boom", recipient_backoff=4096.0),
        ),
        (failure(A.FAIL, 131026), 1, False, POLICY, Fail(131026, "boom")),
        (failure(A.FAIL, None), 1, True, POLICY, Fail(None, "boom")),
        (failure(A.REENGAGE, 131047), 1, False, POLICY, Reengage()),
        (failure(A.REENGAGE, 131047), 8, False, POLICY, Reengage()),  # not an attempt limit
        (failure(A.REENGAGE, 131047), 1, True, POLICY, Fail(131047, "boom")),  # was a template
        (failure(A.REENGAGE, 131047), 1, False, NO_TEMPLATE, Fail(131047, "boom")),
        (failure(A.STOP_NUMBER, 368), 1, False, POLICY, PAUSED),
        (failure(A.STOP_NUMBER, 131048), 8, False, POLICY, PAUSED),  # not an attempt limit
        (failure(A.AUTH, 190), 1, True, POLICY, PAUSED),
        # The request may have reached Meta: retry once a status could have said so,
        # whatever the attempt count.
        (failure(A.RETRY, None, ambiguous=True), 1, False, POLICY, Retry(NOW + 30 * S)),
        (failure(A.RETRY, None, ambiguous=True), 8, False, POLICY, Retry(NOW + 30 * S)),
        (failure(A.RETRY, None, ambiguous=True), 1, False, NO_TEMPLATE, Retry(NOW + 30 * S)),
    ],
)
def test_after_failure(
    fact: SendFailure,
    attempts: int,
    is_template: bool,
    policy: DeliveryPolicy,
    verdict: object,
) -> None:
    got = after_failure(
        fact, attempts=attempts, is_template=is_template, policy=policy, jitter=0.5, now=NOW
    )
    assert got == verdict


def test_every_action_has_a_row_in_the_after_failure_table() -> None:
    rows = test_after_failure.pytestmark[0].args[1]  # type: ignore[attr-defined]
    assert {row[0].action for row in rows} == set(ErrorAction)


# The adapter's classification of real Graph errors, through to the verdict.
@pytest.mark.parametrize(
    ("error", "verdict_type"),
    [
        (GraphError(code=130429, http_status=400), Retry),  # throughput limit
        (GraphError(code=131000, http_status=500), Retry),
        (GraphError(code=None, http_status=503), Retry),
        (GraphError(code=131056, http_status=400), Retry),  # pair rate limit
        (GraphError(code=131047, http_status=400), Reengage),
        (GraphError(code=131026, http_status=400), Fail),
        (GraphError(code=132001, http_status=400), Fail),  # template error range
        (GraphError(code=None, http_status=404), Fail),
        (GraphError(code=368, http_status=400), PauseNumber),
        (GraphError(code=131048, http_status=400), PauseNumber),
        (GraphError(code=190, http_status=401), PauseNumber),
        (GraphError(code=250, http_status=403), PauseNumber),  # permission range
        (GraphError(code=None, http_status=200, ambiguous=True), Retry),
        (GraphTransportError("read timeout", ambiguous=True), Retry),
        (GraphTransportError("refused", ambiguous=False), Retry),
    ],
)
def test_graph_errors_reach_the_right_verdict(
    error: GraphError | GraphTransportError, verdict_type: type
) -> None:
    fact = SendFailure(
        error.action, getattr(error, "code", None), str(error), ambiguous=error.ambiguous
    )
    got = after_failure(fact, attempts=1, is_template=False, policy=POLICY, jitter=0.5, now=NOW)
    assert type(got) is verdict_type
