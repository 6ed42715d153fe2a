"""The sign-in throttle's pure parts: the wait as a table over a frozen clock, the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.services.throttle import LoginThrottle, account_key, wait_for

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def minutes(*values: int) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in values]


@pytest.mark.parametrize(
    ("attempts", "now", "wait"),
    [
        (minutes(), 0, None),
        (minutes(0, 1), 4, None),  # below the limit of 3
        (minutes(0, 1, 2), 4, timedelta(minutes=6)),  # the oldest (at 0) ages out at 10
        (minutes(1, 2, 3), 9, timedelta(minutes=2)),
    ],
)
def test_the_wait_until_the_oldest_counted_attempt_ages_out(
    attempts: list[datetime], now: int, wait: timedelta | None
) -> None:
    assert wait_for(attempts, T0 + timedelta(minutes=now), 3, WINDOW) == wait


def test_the_key_is_per_account_case_insensitive_and_keyed() -> None:
    key = account_key("a@x.io", "k1")
    assert len(key) == 64
    assert account_key(" A@X.IO ", "k1") == key
    assert account_key("b@x.io", "k1") != key
    assert account_key("a@x.io", "k2") != key  # no address can be guessed from the table
    assert len(account_key("\ud83d@x.io", "k1")) == 64  # a lone surrogate does not crash it


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LoginThrottle(limit=0)
