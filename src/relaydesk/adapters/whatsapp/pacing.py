"""Send pacing for the outbox worker: per-number throughput (cloud API doc §4.3) and the
per-recipient pair rate (§4.4). Pure: `now` (monotonic seconds) is always a parameter."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_NUMBER_RATE = 80.0  #: messages/second per business number (§4.3)
PAIR_INTERVAL = 6.0  #: one message every 6 s to the same user, sustained (§4.4)
PAIR_BURST = 10.0  #: Meta allows bursts of up to 45 but makes you pay them back; stay modest
_EPSILON = 1e-9  #: float slack, so waiting exactly the returned delay is always enough
_ONE = 1.0 - _EPSILON


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`. Starts full."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate is {rate}; it must be above 0 tokens per second.")
        if burst < 1:
            raise ValueError(f"burst is {burst}; it must be at least 1 so a token can be taken.")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        if self._last is None or now > self._last:
            self._last = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 if one is), without taking it."""
        self._refill(now)
        return 0.0 if self._tokens >= _ONE else (1 - self._tokens) / self.rate

    def take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds to wait and take nothing."""
        delay = self.wait(now)
        if delay == 0.0:
            self._tokens = max(0.0, self._tokens - 1)
        return delay

    def force(self, now: float) -> None:
        """Take a token even if none is left (something was sent anyway): later waits grow."""
        self._refill(now)
        self._tokens -= 1

    def idle(self, now: float) -> bool:
        """True when the bucket is full again, so dropping it loses nothing."""
        self._refill(now)
        return self._tokens >= self.burst - _EPSILON


class SendPacer:
    """One token bucket per phone_number_id and one per recipient, plus 131056 back-offs.

    Recipient state is keyed by `recipient_key` alone, so one customer served from two of
    our numbers is paced as one pair: conservative, and simpler than per-pair keys.
    """

    def __init__(
        self,
        *,
        number_rate: float = DEFAULT_NUMBER_RATE,
        number_rates: Mapping[str, float] | None = None,
        pair_interval: float = PAIR_INTERVAL,
        pair_burst: float = PAIR_BURST,
        prune_every: float = 60.0,
    ) -> None:
        self._number_rate = number_rate
        self._number_rates = dict(number_rates or {})  # 1,000 mps upgraded, 20 mps coexistence
        self._pair_rate = 1.0 / pair_interval
        self._pair_burst = pair_burst
        self._numbers: dict[str, TokenBucket] = {}
        self._recipients: dict[str, TokenBucket] = {}
        self._held_until: dict[str, float] = {}
        self._prune_every = prune_every
        self._next_prune: float | None = None

    def next_allowed(self, phone_number_id: str, recipient_key: str, now: float) -> float:
        """The earliest time (same clock as `now`) the next send to this pair may go."""
        wait = max(
            self._number(phone_number_id).wait(now),
            self._recipient(recipient_key).wait(now),
        )
        return max(now + wait, self._held_until.get(recipient_key, now))

    def recipient_wait(self, recipient_key: str, now: float) -> float:
        """Seconds until this recipient may get another message (pair limit, back-off)."""
        held = self._held_until.get(recipient_key, now) - now
        return max(self._recipient(recipient_key).wait(now), held, 0.0)

    def record_sent(self, phone_number_id: str, recipient_key: str, now: float) -> None:
        """Count a send that went out at `now` against both buckets."""
        self._number(phone_number_id).force(now)
        self._recipient(recipient_key).force(now)
        self._maybe_prune(now)

    def try_acquire(self, phone_number_id: str, recipient_key: str, now: float) -> float:
        """Check and record in one step: 0 when the send may go now (and is counted),
        otherwise the seconds to wait (nothing counted)."""
        delay = self.next_allowed(phone_number_id, recipient_key, now) - now
        if delay > 0:
            return delay
        self.record_sent(phone_number_id, recipient_key, now)
        return 0.0

    def backoff_recipient(self, recipient_key: str, until: float) -> None:
        """After a 131056: nothing more goes to this recipient before `until`."""
        self._held_until[recipient_key] = max(until, self._held_until.get(recipient_key, until))

    def tracked_recipients(self) -> int:
        return len(self._recipients.keys() | self._held_until.keys())

    def prune(self, now: float) -> None:
        """Forget recipients whose bucket is full again and whose back-off has passed."""
        for key in [k for k, bucket in self._recipients.items() if bucket.idle(now)]:
            del self._recipients[key]
        for key in [k for k, until in self._held_until.items() if until <= now]:
            del self._held_until[key]

    def _maybe_prune(self, now: float) -> None:
        if self._next_prune is None:
            self._next_prune = now + self._prune_every
        elif now >= self._next_prune:
            self.prune(now)
            self._next_prune = now + self._prune_every

    def _number(self, phone_number_id: str) -> TokenBucket:
        bucket = self._numbers.get(phone_number_id)
        if bucket is None:
            rate = self._number_rates.get(phone_number_id, self._number_rate)
            bucket = self._numbers[phone_number_id] = TokenBucket(rate, max(1.0, rate))
        return bucket

    def _recipient(self, recipient_key: str) -> TokenBucket:
        bucket = self._recipients.get(recipient_key)
        if bucket is None:
            bucket = TokenBucket(self._pair_rate, self._pair_burst)
            self._recipients[recipient_key] = bucket
        return bucket
