"""Send limits with a fake monotonic clock: overall, per chat, per group, and the pause after a 429."""

from __future__ import annotations

import pytest

from bot.rate_limit import SendLimits


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sent_in(limits: SendLimits, clock: FakeClock, addresses: list[str], seconds: float, step: float = 0.001) -> int:
    """How many messages go out in `seconds` when every address always has one waiting."""
    sent, end = 0, clock.now + seconds
    while clock.now < end:
        for address in addresses:
            if limits.take(address) == 0:
                sent += 1
        clock.now += step
    return sent


def test_overall_rate_holds_across_many_chats() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=30, chat_rate=1, chat_burst=3, clock=clock)
    addresses = [str(n) for n in range(1000)]
    sent = sent_in(limits, clock, addresses, seconds=10, step=0.01)
    assert 300 <= sent <= 300 + limits.overall.burst


def test_one_chat_gets_its_burst_then_one_a_second() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=30, chat_rate=1, chat_burst=3, clock=clock)
    taken = []
    for _ in range(3):
        taken.append(limits.take("7"))
        clock.now += 0.05  # the overall limit spaces them out
    assert taken == [0.0, 0.0, 0.0], "a short burst in one chat passes"
    assert limits.take("7") == pytest.approx((1 - 0.15 * 0.95) / 0.95), "then the chat waits for its next token"
    assert limits.take("8") == 0.0, "another chat is not held up"
    assert sent_in(limits, clock, ["7"], seconds=10.6) == 10, "one a second once the burst is spent, and no faster"


def test_a_chat_is_paced_a_little_under_its_limit_so_arrival_jitter_meets_no_429() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=30, chat_rate=1, chat_burst=1, clock=clock)
    assert limits.take("7") == 0.0
    clock.now += 1.0
    assert limits.take("7") > 0.04, (
        "a message exactly a second later would reach Telegram in under a second if the last was late"
    )
    clock.now += 0.06
    assert limits.take("7") == 0.0


def test_the_overall_limit_paces_evenly_from_the_start() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=30, clock=clock)
    assert [limits.take(str(n)) for n in range(3)][:2] == [0.0, 0.0]
    assert limits.take("99") == pytest.approx(1 / 30), "no more than two at once, then one every 1/30 s"


def test_a_group_gets_twenty_a_minute() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=30, chat_rate=1, chat_burst=3, group_per_minute=20, clock=clock)
    assert 19 <= sent_in(limits, clock, ["-100123"], seconds=60, step=0.01) <= 20, (
        "twenty a minute, paced a little under"
    )


def test_a_429_pauses_everything_for_retry_after() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=30, clock=clock)
    limits.pause(5)
    assert limits.take("1") == pytest.approx(5)
    clock.now += 5
    assert limits.take("1") == 0.0


def test_memory_stays_bounded_with_many_chats() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=1e9, clock=clock)
    for n in range(30_000):
        limits.take(str(n))
        clock.now += 0.001
    assert len(limits.chats) <= 10_001


def test_a_chat_can_wait_out_its_own_limit_without_spending_anything() -> None:
    clock = FakeClock()
    limits = SendLimits(overall_rate=1000, chat_rate=1, chat_burst=1, clock=clock)
    assert limits.chat_wait("7") == 0.0
    assert limits.chat_wait("7") == 0.0, "asking spends nothing"
    assert limits.take("7") == 0.0
    assert limits.chat_wait("7") == pytest.approx(1 / 0.95)
    limits.pause(3)
    assert limits.chat_wait("8") == pytest.approx(3.0), "a 429 pause holds every chat"
