"""Decisions about one outbound send: whether it goes now, as what, and what follows a
failure. Pure: facts and `now` in, a verdict out; the outbox service loads the facts,
acts on the verdict and records it.

The Send API has no idempotency key, so a send whose outcome is unknown (the process died
mid-call, a timeout, an unreadable answer) is not repeated until a status webhook proves
it arrived (`Done`) or `reconcile_after` has passed without one: the one case where the
contract leaves a double send possible.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from relaydesk.domain.conversation import window_open


class ErrorAction(enum.Enum):
    """What a sender should do about a failed send (the WhatsApp adapter maps Graph error
    codes to these, and re-exports this enum)."""

    RETRY = "retry"  #: temporary: retry with exponential backoff and full jitter
    RETRY_RECIPIENT = "retry_recipient"  #: pair rate limit: only this recipient waits 4**n s
    FAIL = "fail"  #: this message can't go out as it is; no retry
    REENGAGE = "reengage"  #: 24-hour window closed; send an approved template instead
    STOP_NUMBER = "stop_number"  #: stop sending from this phone number, alert humans
    AUTH = "auth"  #: token or permissions broken; stop until a human fixes them


RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 60.0
RECIPIENT_CAP_SECONDS = 4.0**6  # about 68 minutes: a pair limit that long needs a human
NUMBER_PAUSE = timedelta(minutes=5)
#: An attempt row's outcomes; None while the call is in flight.
ACCEPTED, ERROR, AMBIGUOUS = "accepted", "error", "ambiguous"


def backoff_seconds(action: ErrorAction, retry: int, jitter: float) -> float:
    """Seconds to wait before retry number `retry` (0 for the first retry). `jitter` is a
    uniform draw from [0, 1): RETRY waits that share of its exponential ceiling (full
    jitter spreads a herd of throttled sends); RETRY_RECIPIENT waits 4**retry seconds."""
    if retry < 0:
        raise ValueError(f"attempt is {retry}; count retries from 0.")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter is {jitter}; pass a uniform draw from [0, 1).")
    if action is ErrorAction.RETRY:
        ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2.0 ** min(retry, 32))
        return ceiling * jitter
    if action is ErrorAction.RETRY_RECIPIENT:
        return min(RECIPIENT_CAP_SECONDS, 4.0 ** min(retry, 32))
    raise ValueError(
        f"{action.name} is not retried after a delay; only RETRY and RETRY_RECIPIENT are."
    )


def callback_tag(outbox_id: int) -> str:
    """The `biz_opaque_callback_data` of a send; Meta echoes it on its status webhooks."""
    return f"rd:ob:{outbox_id}"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 8  #: attempts before a retryable send is given up
    reconcile_after: timedelta = timedelta(seconds=30)  #: wait for proof of an unknown send
    number_pause: timedelta = NUMBER_PAUSE  #: how long a blocked number stops sending
    reengagement: bool = True  #: the brief names a re-engagement template

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts is {self.max_attempts}; allow at least 1 attempt.")
        if self.reconcile_after < timedelta(0) or self.number_pause < timedelta(0):
            raise ValueError(
                f"reconcile_after ({self.reconcile_after}) and number_pause "
                f"({self.number_pause}) must not be negative."
            )


@dataclass(frozen=True, slots=True)
class LastAttempt:
    started_at: datetime
    outcome: str | None  #: None while in flight (or the process died): accepted | error | ...


@dataclass(frozen=True, slots=True)
class SendFailure:
    """A failed send as plain facts."""

    action: ErrorAction
    code: int | None
    detail: str
    ambiguous: bool = False  #: the request may have reached Meta anyway


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """Claim the row for a send now."""


@dataclass(frozen=True, slots=True)
class Done:
    """An earlier attempt arrived (a status webhook echoed our tag): nothing to send."""

    wamid: str


@dataclass(frozen=True, slots=True)
class WaitReconcile:
    """The last attempt's outcome is unknown: send again only after `until`."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Send:
    """Send the stored content."""


@dataclass(frozen=True, slots=True)
class SendTemplate:
    """The 24-hour window is closed: send the re-engagement template instead."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Not yet (the recipient's pair limit); this claim does not count as an attempt."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    #: seconds every send to this recipient waits (the pair rate limit), if any
    recipient_backoff: float | None = None


@dataclass(frozen=True, slots=True)
class Reengage:
    """Meta says the window is closed: store the re-engagement template and send it now."""


@dataclass(frozen=True, slots=True)
class PauseNumber:
    """The sending number is blocked or its token broken: nothing goes out from it until
    `until`, when this row is tried again (the pause does not count as an attempt)."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Fail:
    code: int | None
    reason: str
    recipient_backoff: float | None = None


# --- decisions ------------------------------------------------------------------------------


def settle(
    attempts: int,
    last: LastAttempt | None,
    reconciled_wamid: str | None,
    *,
    up_since: datetime | None,
    reconcile_after: timedelta,
    now: datetime,
) -> Claim | Done | WaitReconcile:
    """A due row that was tried before: done if a status proves an attempt arrived; held
    while the last attempt's outcome is unknown; else claimed. Status webhooks cannot reach
    a process that is down, so the wait counts from `up_since` when that is later."""
    if attempts == 0:
        return Claim()
    if reconciled_wamid is not None:
        return Done(reconciled_wamid)
    if last is None or last.outcome not in (None, AMBIGUOUS):
        return Claim()
    started = last.started_at
    if up_since is not None and up_since > started:
        started = up_since
    until = started + reconcile_after
    return WaitReconcile(until) if until > now else Claim()


WINDOW_CLOSED = (
    "the 24-hour window has closed and the brief names no re-engagement template; "
    "add one under templates to reach this customer"
)


def before_send(
    *,
    is_template: bool,
    last_inbound_at: datetime | None,
    recipient_wait: float,
    reengagement: bool,
    now: datetime,
) -> Send | SendTemplate | Defer | Fail:
    """What a claimed row sends now: outside the 24-hour window only a template may go."""
    if recipient_wait > 0:
        return Defer(now + timedelta(seconds=recipient_wait))
    if is_template or window_open(last_inbound_at, now):
        return Send()
    if not reengagement:
        return Fail(None, WINDOW_CLOSED)
    return SendTemplate()


def after_failure(
    failure: SendFailure,
    *,
    attempts: int,
    is_template: bool,
    policy: DeliveryPolicy,
    jitter: float,
    now: datetime,
) -> Retry | Reengage | PauseNumber | Fail:
    """What follows a failed attempt (`attempts` counts it). `jitter`: see `backoff_seconds`."""
    if failure.ambiguous:  # it may have arrived: retry only once a status could have said so
        return Retry(now + policy.reconcile_after)
    action = failure.action
    if action is ErrorAction.REENGAGE and policy.reengagement and not is_template:
        return Reengage()
    if action in (ErrorAction.STOP_NUMBER, ErrorAction.AUTH):
        return PauseNumber(now + policy.number_pause)
    if action not in (ErrorAction.RETRY, ErrorAction.RETRY_RECIPIENT):
        return Fail(failure.code, failure.detail)
    delay = backoff_seconds(action, attempts - 1, jitter)
    backoff = delay if action is ErrorAction.RETRY_RECIPIENT else None
    if attempts >= policy.max_attempts:
        reason = f"gave up after {attempts} attempts: {failure.detail}"
        return Fail(failure.code, reason, recipient_backoff=backoff)
    return Retry(now + timedelta(seconds=delay), recipient_backoff=backoff)
