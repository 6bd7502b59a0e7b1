"""Telegram's sending limits as token buckets: overall, per private chat, per group, and a pause after a 429.

Telegram allows about 30 messages a second overall, one a second in a chat
(short bursts pass) and 20 a minute in a group. Keeping under them is
cheaper than being told off: a 429 stops the bot for `retry_after` seconds.
The overall bucket's burst is kept to two messages: Telegram tolerates
short bursts, but it counts arrivals, which reach it a few milliseconds
apart from when they were sent. A sender that bursts as much as the server
allows meets a 429 (and a pause of a whole second) at the first jitter; one
that paces evenly leaves the server's burst free to absorb the jitter
(bench/broadcast.py measured 0.22 of the limit the first way). For the same
reason a chat's bucket refills ARRIVAL_MARGIN slower than the chat's limit:
at exactly one a second, a message that reached Telegram a few milliseconds
later than the next one meets a 429, and the pause that follows holds every
chat for a second.

    limits = SendLimits(overall_rate=30, chat_rate=1, chat_burst=3, group_per_minute=20)
    limits.take("1001")   # 0.0: may send now (and the tokens are spent)
    limits.take("1001")   # 0.0, then after the burst e.g. 0.97: wait that long, nothing spent
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

OVERALL_BURST = 2.0
ARRIVAL_MARGIN = 0.05


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until a token is there; 0 when one is."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class SendLimits:
    def __init__(
        self,
        overall_rate: float,
        chat_rate: float = 1.0,
        chat_burst: float = 3.0,
        group_per_minute: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        now = clock()
        self.overall = TokenBucket(overall_rate, OVERALL_BURST, OVERALL_BURST, now)
        self.chat_rate, self.chat_burst = chat_rate, max(1.0, chat_burst)
        self.group_rate = group_per_minute / 60
        self.chats: dict[str, TokenBucket] = {}
        self.paused_until = 0.0

    def _chat(self, address: str, now: float) -> TokenBucket:
        bucket = self.chats.get(address)
        if bucket is None:
            group = address.startswith("-")
            rate, burst = (self.group_rate, 1.0) if group else (self.chat_rate, self.chat_burst)
            bucket = self.chats[address] = TokenBucket(rate * (1 - ARRIVAL_MARGIN), burst, burst, now)
        return bucket

    def take(self, address: str) -> float:
        """0 and the tokens spent when a message to `address` may go now; else the seconds to wait."""
        now = self.clock()
        if now < self.paused_until:
            return self.paused_until - now
        chat = self._chat(address, now)
        self.overall.refill(now)
        chat.refill(now)
        wait = max(self.overall.wait(), chat.wait())
        if wait > 0:
            return wait
        self.overall.tokens -= 1
        chat.tokens -= 1
        if len(self.chats) > 10_000:
            self._forget_full(now)
        return 0.0

    def chat_wait(self, address: str) -> float:
        """Seconds until `address` alone may have a message (nothing spent): waited out before queueing for the rest."""
        now = self.clock()
        chat = self._chat(address, now)
        chat.refill(now)
        return max(self.paused_until - now, chat.wait())

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes out until `seconds` from now."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def _forget_full(self, now: float) -> None:
        """A chat whose bucket has refilled is the same as a new one: drop it, so memory stays bounded."""
        for address, bucket in list(self.chats.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.burst:
                del self.chats[address]
