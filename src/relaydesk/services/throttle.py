"""Slowing down password guessing: at most `limit` sign-in attempts for one account within
`window` may fail; further attempts are refused until the oldest ages out.

Every attempt is counted in the database *before* its password is checked, and a successful
sign-in deletes the account's count. Counting and checking the count happen under a lock
on the account key (see `adapters.storage.throttle`), so parallel guesses cannot all slip
past the limit, whichever thread or process serves them. The key is an HMAC of the email
as typed (case-folded) under RELAYDESK_SECRET_KEY: unknown accounts are throttled exactly
like real ones, the answer reveals nothing, and the table holds no addresses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from relaydesk.adapters.storage import throttle as store


def account_key(email: str, secret_key: str) -> str:
    """The throttle's key for an email as typed: 64 hex characters."""
    normalised = email.strip().casefold().encode("utf-8", "surrogatepass")
    return hmac.new(secret_key.encode(), normalised, hashlib.sha256).hexdigest()


def wait_for(
    attempts: Sequence[datetime], now: datetime, limit: int, window: timedelta
) -> timedelta | None:
    """How long until one more attempt is allowed, given the recent ones (oldest first);
    None when it is allowed now."""
    if len(attempts) < limit:
        return None
    return attempts[-limit] + window - now


class LoginThrottle:
    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        if limit < 1:
            raise ValueError(f"limit is {limit}; allow at least 1 failed sign-in")
        self.limit = limit
        self.window = window

    def admit(self, conn: Connection, key: str, now: datetime) -> timedelta | None:
        """Count an attempt for `key` now, or refuse it: None means go ahead and check
        the password (the attempt counts as failed until `succeeded`), a duration says how
        long until the next attempt is allowed. Run it in a write transaction of its own,
        committed before the password is checked."""
        store.lock_account_key(conn, key)
        since = now - self.window
        store.forget_before(conn, since)
        wait = wait_for(store.recent_attempts(conn, key, since), now, self.limit, self.window)
        if wait is None:
            store.add_attempt(conn, key, now)
        return wait

    def succeeded(self, conn: Connection, key: str) -> None:
        """The password was right: the account's attempts no longer count."""
        store.forget_account_key(conn, key)
