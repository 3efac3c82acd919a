"""The limits' bookkeeping on its own, with an injected clock: token buckets, the verdicts
of a socket's message budget, sockets per address."""

from __future__ import annotations

import pytest

from dentalcare.realtime.limits import (
    AddressBuckets,
    AddressLimit,
    MessageBudget,
    TokenBucket,
    Verdict,
)


def test_a_bucket_gives_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0)
    assert [bucket.take(0) for _ in range(4)] == [True, True, True, False]
    assert bucket.seconds_until_token(0) == pytest.approx(0.5)
    assert not bucket.take(0.4)
    assert bucket.take(0.5)
    # Never more than the burst, however long it rested.
    assert sum(bucket.take(1000) for _ in range(10)) == 3


def test_a_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=3, now=0)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0, now=0)


def budget(**overrides: float) -> MessageBudget:
    values: dict[str, float] = {
        "messages_per_second": 20,
        "message_burst": 300,
        "replays_per_second": 1,
        "replay_burst": 32,
        "refusals_before_close": 10,
        "now": 0,
    }
    values.update(overrides)
    return MessageBudget(**values)  # type: ignore[arg-type]


def test_replays_run_out_long_before_messages() -> None:
    socket = budget()
    verdicts = [socket.admit(replay=True, now=0) for _ in range(40)]
    assert verdicts == [Verdict.ADMIT] * 32 + [Verdict.REFUSE] * 8
    assert socket.retry_after(replay=True, now=0) == 1
    # Other messages still go through, and a refused replay never closes the socket.
    assert socket.admit(replay=False, now=0) is Verdict.ADMIT
    assert socket.refused_in_a_row == 0
    # One replay a second from then on.
    assert socket.admit(replay=True, now=1.0) is Verdict.ADMIT
    assert socket.admit(replay=True, now=1.5) is Verdict.REFUSE
    assert socket.admit(replay=True, now=2.0) is Verdict.ADMIT


def test_sending_on_regardless_closes_the_socket() -> None:
    socket = budget(message_burst=5, refusals_before_close=3)
    assert [socket.admit(replay=False, now=0) for _ in range(5)] == [Verdict.ADMIT] * 5
    assert socket.admit(replay=False, now=0) is Verdict.REFUSE
    assert socket.retry_after(replay=False, now=0) == 1  # 1/20 s, in whole seconds
    assert socket.admit(replay=False, now=0) is Verdict.REFUSE
    assert socket.admit(replay=False, now=0) is Verdict.CLOSE


def test_a_client_that_waits_as_told_is_never_closed() -> None:
    socket = budget(message_burst=5, messages_per_second=2, refusals_before_close=2)
    now = 0.0
    for _ in range(5):
        assert socket.admit(replay=False, now=now) is Verdict.ADMIT
    for _ in range(100):
        verdict = socket.admit(replay=False, now=now)
        assert verdict is not Verdict.CLOSE
        if verdict is Verdict.REFUSE:
            now += socket.retry_after(replay=False, now=now)
    # Refused replays take a message token each, so a replay flood does end in a close.
    flood = budget(message_burst=50, replay_burst=2, refusals_before_close=10)
    verdicts = [flood.admit(replay=True, now=0) for _ in range(60)]
    assert verdicts[:2] == [Verdict.ADMIT] * 2
    assert verdicts[2:50] == [Verdict.REFUSE] * 48
    assert verdicts[59] is Verdict.CLOSE


def test_sockets_per_address() -> None:
    limit = AddressLimit(limit=2)
    assert limit.admit("10.0.0.1") and limit.admit("10.0.0.1")
    assert not limit.admit("10.0.0.1")
    assert limit.admit("10.0.0.2")
    limit.release("10.0.0.1")
    assert limit.open_from("10.0.0.1") == 1
    assert limit.admit("10.0.0.1")
    for _ in range(2):
        limit.release("10.0.0.1")
    limit.release("10.0.0.2")
    assert limit.open_from("10.0.0.1") == limit.open_from("10.0.0.2") == 0


def test_reservations_queue_up_at_the_rate_once_the_burst_is_spent() -> None:
    bucket = TokenBucket(rate=10, burst=2, now=0)
    assert [bucket.reserve(0) for _ in range(5)] == pytest.approx([0, 0, 0.1, 0.2, 0.3])
    # Half a second later the debt is paid and 2 tokens are back... at most the burst.
    assert bucket.reserve(0.8) == 0


def test_an_address_shares_its_buckets_and_forgets_them_once_full() -> None:
    buckets = AddressBuckets(rate=1, burst=3, forget_above=2)
    assert buckets.take("a", 3, now=0) and not buckets.take("a", 1, now=0)
    assert buckets.take("b", 3, now=0)  # another address has its own
    assert buckets.reserve("a", now=0) == pytest.approx(1)
    buckets.take("c", 1, now=100)  # a third address: the full ones are swept out first
    assert len(buckets) == 1
