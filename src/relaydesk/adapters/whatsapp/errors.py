"""Graph API errors and what a sender should do about each (cloud API doc §3.7, §3.8).

Decisions branch on `error.code`, never on the HTTP status: Meta returns throttling codes as
both 400 and 429. The HTTP status is only a fallback for codes this table does not know.
"""

from __future__ import annotations

import random
from typing import Any

from relaydesk.domain.delivery import (
    RECIPIENT_CAP_SECONDS,
    RETRY_BASE_SECONDS,
    RETRY_CAP_SECONDS,
    ErrorAction,
    backoff_seconds,
)

__all__ = [  # the actions and their backoff are the delivery domain's; re-exported
    "RECIPIENT_CAP_SECONDS",
    "RETRY_BASE_SECONDS",
    "RETRY_CAP_SECONDS",
    "ErrorAction",
    "GraphError",
    "GraphTransportError",
    "classify",
    "describe",
    "retry_delay",
]


#: code -> (action, short name). 200-299 and 132000-132099 are ranges, handled in `_lookup`.
_CODES: dict[int, tuple[ErrorAction, str]] = {
    130429: (ErrorAction.RETRY, "throughput limit"),
    131056: (ErrorAction.RETRY_RECIPIENT, "pair rate limit"),
    80007: (ErrorAction.RETRY, "WABA rate limit"),
    4: (ErrorAction.RETRY, "app API call limit"),
    131000: (ErrorAction.RETRY, "something went wrong"),
    131016: (ErrorAction.RETRY, "service unavailable"),
    133004: (ErrorAction.RETRY, "server temporarily unavailable"),
    1: (ErrorAction.RETRY, "unknown API error"),
    2: (ErrorAction.RETRY, "API service error"),
    131057: (ErrorAction.RETRY, "account in maintenance mode"),
    131047: (ErrorAction.REENGAGE, "re-engagement window closed"),
    131026: (ErrorAction.FAIL, "undeliverable"),
    131051: (ErrorAction.FAIL, "unsupported message type"),
    # 131049: "don't retry for at least 24 h"; a day-later marketing send is a human's call.
    131049: (ErrorAction.FAIL, "per-user marketing limit"),
    131050: (ErrorAction.FAIL, "user stopped marketing messages"),
    130472: (ErrorAction.FAIL, "user in marketing experiment"),
    100: (ErrorAction.FAIL, "invalid parameter"),
    131008: (ErrorAction.FAIL, "required parameter missing"),
    131009: (ErrorAction.FAIL, "parameter value invalid"),
    131030: (ErrorAction.FAIL, "recipient not in allowed list"),
    131021: (ErrorAction.FAIL, "sender same as recipient"),
    131052: (ErrorAction.FAIL, "media download error"),
    131053: (ErrorAction.FAIL, "media upload error"),
    131062: (ErrorAction.FAIL, "BSUID recipient not supported"),
    # 130497 blocks one destination country only; stopping the whole number would also stop
    # every customer elsewhere, so it fails the message rather than the number.
    130497: (ErrorAction.FAIL, "country restricted"),
    # STOP_NUMBER: codes about the sending number's standing. Any further send from it is
    # refused and, for 131048/131042, retrying makes the block worse (§3.8), so the number
    # stops and a human looks at WhatsApp Manager.
    368: (ErrorAction.STOP_NUMBER, "temporarily blocked for policy violations"),
    131031: (ErrorAction.STOP_NUMBER, "account locked"),
    131042: (ErrorAction.STOP_NUMBER, "payment or eligibility problem"),
    131048: (ErrorAction.STOP_NUMBER, "spam rate limit"),
    190: (ErrorAction.AUTH, "access token expired"),
    0: (ErrorAction.AUTH, "authentication exception"),
    10: (ErrorAction.AUTH, "permission denied"),
}


def _lookup(code: int) -> tuple[ErrorAction, str] | None:
    if code in _CODES:
        return _CODES[code]
    if 200 <= code <= 299:
        return ErrorAction.AUTH, "permission error"
    if 132000 <= code <= 132099:
        return ErrorAction.FAIL, "template error"
    return None


def describe(code: int | None) -> str | None:
    """A short name for a Graph API error code ("re-engagement window closed"), or None
    when the code is not one this table knows."""
    known = None if code is None else _lookup(code)
    return None if known is None else known[1]


def classify(code: int | None, http_status: int | None) -> ErrorAction:
    """What to do about a Graph API error with this `error.code` and HTTP status."""
    known = None if code is None else _lookup(code)
    if known is not None:
        return known[0]
    if http_status == 401:
        return ErrorAction.AUTH
    if http_status is not None and 400 <= http_status < 500 and http_status != 429:
        return ErrorAction.FAIL
    return ErrorAction.RETRY  # 5xx, 429, or nothing to go on (a garbled response)


def retry_delay(action: ErrorAction, attempt: int, *, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry)."""
    if attempt < 0:
        raise ValueError(f"attempt is {attempt}; count retries from 0.")
    jitter = rng.random() if action is ErrorAction.RETRY else 0.0
    return backoff_seconds(action, attempt, jitter)


class GraphError(Exception):
    """An error answer from the Graph API (or a 2xx answer we could not read)."""

    def __init__(
        self,
        *,
        code: int | None,
        http_status: int | None,
        details: str = "",
        title: str = "",
        fbtrace_id: str | None = None,
        ambiguous: bool = False,
    ) -> None:
        self.code = code
        self.http_status = http_status
        self.details = details
        self.title = title
        self.fbtrace_id = fbtrace_id
        #: True when Meta may have accepted the message anyway (an unreadable 2xx):
        #: reconcile before retrying, as for GraphTransportError.
        self.ambiguous = ambiguous
        self.action = classify(code, http_status)
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.code is None:
            head = f"Graph API error (HTTP {self.http_status}, no error code)"
        else:
            known = _lookup(self.code)
            name = known[1] if known else self.title or "unknown code"
            head = f"Graph API error {self.code} ({name})"
        trace = f" [fbtrace_id={self.fbtrace_id}]" if self.fbtrace_id else ""
        return f"{head}: {self.details or self.title or 'no details'}{trace}"

    @classmethod
    def from_envelope(
        cls, http_status: int, payload: Any, *, fbtrace_id: str | None = None
    ) -> GraphError | None:
        """Parse `{"error": {...}}` (§3.7); None when `payload` is not that shape."""
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            return None
        code = error.get("code")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        trace = error.get("fbtrace_id")
        return cls(
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            http_status=http_status,
            details=_text(details) or _text(error.get("message")),
            title=_text(error.get("title")) or _text(error.get("message")),
            fbtrace_id=trace if isinstance(trace, str) else fbtrace_id,
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class GraphTransportError(Exception):
    """The request got no HTTP answer: a timeout, a refused or dropped connection.

    `ambiguous` is True when the request may have reached Meta (read timeout, connection
    dropped after sending). The Send API has no idempotency key, so retrying such a send can
    deliver it twice: reconcile (e.g. wait for a status webhook) before retrying.
    """

    action = ErrorAction.RETRY

    def __init__(self, message: str, *, ambiguous: bool) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
