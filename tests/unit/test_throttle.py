"""The sign-in throttle as a table over a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.services.throttle import LoginThrottle

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_the_limit_then_the_window() -> None:
    throttle = LoginThrottle(limit=3, window=timedelta(minutes=10))
    for minute in range(3):
        assert throttle.retry_after("a@x.io", T0 + timedelta(minutes=minute)) is None
        throttle.failed("a@x.io", T0 + timedelta(minutes=minute))
    # the oldest failure (at 0) ages out at 10 minutes
    assert throttle.retry_after("a@x.io", T0 + timedelta(minutes=4)) == timedelta(minutes=6)
    assert throttle.retry_after("A@X.IO ", T0 + timedelta(minutes=4)) == timedelta(minutes=6)
    assert throttle.retry_after("a@x.io", T0 + timedelta(minutes=10)) is None
    assert throttle.retry_after("b@x.io", T0 + timedelta(minutes=4)) is None  # per account


def test_a_success_clears_the_failures() -> None:
    throttle = LoginThrottle(limit=2)
    throttle.failed("a@x.io", T0)
    throttle.succeeded("a@x.io")
    throttle.failed("a@x.io", T0)
    assert throttle.retry_after("a@x.io", T0) is None


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(limit=1, max_keys=3)
    for n in range(10):
        throttle.failed(f"{n}@x.io", T0)
    assert len(throttle._failures) <= 3
    assert throttle.retry_after("9@x.io", T0) is not None  # the newest is kept


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LoginThrottle(limit=0)
