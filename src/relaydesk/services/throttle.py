"""Slowing down password guessing: after `limit` failed sign-ins for one account within
`window`, further attempts for it are refused until the oldest failure ages out. A
successful sign-in clears the account's failures.

Kept in memory, per server process (each process allows `limit` failures of its own), and
keyed by the email as typed (case-folded), so unknown accounts are throttled exactly like
real ones and the answer reveals nothing. Time is a parameter.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from threading import Lock


class LoginThrottle:
    def __init__(
        self, limit: int = 5, window: timedelta = timedelta(minutes=15), max_keys: int = 10_000
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit is {limit}; allow at least 1 failed sign-in")
        self._limit = limit
        self._window = window
        self._max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = Lock()

    def retry_after(self, email: str, now: datetime) -> timedelta | None:
        """How long until `email` may try again; None when it may now."""
        with self._lock:
            failures = self._recent(_key(email), now)
            if len(failures) < self._limit:
                return None
            return failures[0] + self._window - now

    def failed(self, email: str, now: datetime) -> None:
        with self._lock:
            key = _key(email)
            if key not in self._failures and len(self._failures) >= self._max_keys:
                self._forget_stale(now)
            self._recent(key, now).append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(_key(email), None)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        return failures

    def _forget_stale(self, now: datetime) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self._window]:
            del self._failures[key]
        while len(self._failures) >= self._max_keys:  # still full: drop the oldest entries
            del self._failures[next(iter(self._failures))]


def _key(email: str) -> str:
    return email.strip().casefold()
