from __future__ import annotations

import pytest

from relaydesk.adapters.whatsapp.pacing import SendPacer, TokenBucket


class TestTokenBucket:
    def test_starts_full_then_makes_you_wait(self) -> None:
        bucket = TokenBucket(rate=2.0, burst=3.0)
        assert [bucket.take(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert bucket.take(10.0) == pytest.approx(0.5)

    def test_waiting_the_returned_delay_is_enough(self) -> None:
        bucket = TokenBucket(rate=3.0, burst=1.0)
        now = 0.0
        for _ in range(100):
            delay = bucket.take(now)
            if delay:
                now += delay
                assert bucket.take(now) == 0.0
        assert now == pytest.approx(99 / 3.0)

    def test_a_refused_take_takes_nothing(self) -> None:
        bucket = TokenBucket(rate=1.0, burst=1.0)
        bucket.take(0.0)
        assert bucket.take(0.5) == pytest.approx(0.5)
        assert bucket.take(0.5) == pytest.approx(0.5)  # asking again does not push it back
        assert bucket.take(1.0) == 0.0

    def test_refill_stops_at_burst(self) -> None:
        bucket = TokenBucket(rate=1.0, burst=2.0)
        assert bucket.take(1000.0) == 0.0
        assert bucket.take(1000.0) == 0.0
        assert bucket.take(1000.0) == pytest.approx(1.0)

    def test_time_going_backwards_adds_nothing(self) -> None:
        bucket = TokenBucket(rate=1.0, burst=1.0)
        bucket.take(10.0)
        assert bucket.take(5.0) == pytest.approx(1.0)
        assert bucket.take(11.0) == 0.0

    def test_force_goes_into_debt(self) -> None:
        bucket = TokenBucket(rate=1.0, burst=1.0)
        bucket.force(0.0)
        bucket.force(0.0)
        assert bucket.wait(0.0) == pytest.approx(2.0)

    @pytest.mark.parametrize(
        ("rate", "burst", "message"),
        [(0.0, 1.0, "rate is 0.0"), (-1.0, 1.0, "rate is -1.0"), (1.0, 0.5, "burst is 0.5")],
    )
    def test_bad_settings_are_rejected(self, rate: float, burst: float, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            TokenBucket(rate=rate, burst=burst)


class TestSendPacer:
    def test_number_throughput_defaults_to_80_per_second(self) -> None:
        pacer = SendPacer()
        sent = sum(pacer.try_acquire("num", f"user{i}", 0.0) == 0.0 for i in range(100))
        assert sent == 80
        assert pacer.next_allowed("num", "user99", 0.0) == pytest.approx(1 / 80)

    def test_numbers_are_paced_independently_and_can_be_overridden(self) -> None:
        pacer = SendPacer(number_rates={"coexistence": 20.0})
        assert sum(pacer.try_acquire("coexistence", f"u{i}", 0.0) == 0 for i in range(30)) == 20
        assert sum(pacer.try_acquire("other", f"v{i}", 0.0) == 0 for i in range(30)) == 30

    def test_recipient_gets_a_small_burst_then_one_per_six_seconds(self) -> None:
        pacer = SendPacer(pair_burst=3.0)
        assert [pacer.try_acquire("num", "alice", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert pacer.next_allowed("num", "alice", 0.0) == pytest.approx(6.0)
        assert pacer.next_allowed("num", "bob", 0.0) == 0.0  # others are unaffected
        assert pacer.try_acquire("num", "alice", 6.0) == 0.0

    def test_next_allowed_does_not_count_a_send(self) -> None:
        pacer = SendPacer(pair_burst=1.0)
        for _ in range(5):
            assert pacer.next_allowed("num", "alice", 0.0) == 0.0
        pacer.record_sent("num", "alice", 0.0)
        assert pacer.next_allowed("num", "alice", 1.0) == pytest.approx(6.0)

    def test_backoff_holds_only_that_recipient(self) -> None:
        pacer = SendPacer()
        pacer.backoff_recipient("alice", until=16.0)
        assert pacer.next_allowed("num", "alice", 0.0) == 16.0
        assert pacer.try_acquire("num", "alice", 10.0) == pytest.approx(6.0)
        assert pacer.next_allowed("num", "bob", 0.0) == 0.0
        assert pacer.try_acquire("num", "alice", 16.0) == 0.0

    def test_backoff_never_shortens(self) -> None:
        pacer = SendPacer()
        pacer.backoff_recipient("alice", until=64.0)
        pacer.backoff_recipient("alice", until=4.0)
        assert pacer.next_allowed("num", "alice", 0.0) == 64.0

    def test_idle_recipients_are_forgotten(self) -> None:
        pacer = SendPacer(pair_burst=2.0, prune_every=60.0)
        pacer.record_sent("num", "alice", 0.0)
        pacer.backoff_recipient("bob", until=30.0)
        assert pacer.tracked_recipients() == 2
        pacer.record_sent("num", "carol", 100.0)  # alice refilled, bob's hold is over
        assert pacer.tracked_recipients() == 1
        pacer.prune(1000.0)
        assert pacer.tracked_recipients() == 0
