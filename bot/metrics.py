"""What operators can watch on /metrics (Prometheus): updates, answers, the outbox, the send rate and 429s."""

from __future__ import annotations

import time
from collections import deque

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

UPDATES = Counter("chorus_updates_handled", "Inbound Telegram updates applied", ["channel"])
ANSWERS = Counter(
    "chorus_answers_stored", "Answers stored (a skip, and an answer given again after /back, count)", ["channel"]
)
QUEUED = Counter("chorus_outbox_queued", "Outbox rows queued", ["kind"])
SENT = Counter("chorus_outbox_sent", "Outbox rows sent", ["channel"])
FAILED = Counter("chorus_outbox_failed", "Outbox rows that failed for good", ["channel", "reason"])
RETRIED = Counter("chorus_outbox_retried", "Outbox rows put back for a later try", ["channel"])
TOO_MANY = Counter("chorus_telegram_429", "429 Too Many Requests answers from the Bot API")
RATE = Gauge("chorus_outbox_send_rate", "Messages sent per second over the last ten seconds")
LEADER = Gauge("chorus_leader", "1 while this process runs the scheduler and the outbox sender")
WINDOW_SECONDS = 10.0


class SendRate:
    """Messages per second over a sliding window, kept in the RATE gauge."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self.times: deque[float] = deque()

    def sent(self, now: float | None = None) -> None:
        stamp = time.monotonic() if now is None else now
        self.times.append(stamp)
        self.update(stamp)

    def update(self, now: float | None = None) -> float:
        stamp = time.monotonic() if now is None else now
        while self.times and self.times[0] < stamp - self.window:
            self.times.popleft()
        rate = len(self.times) / self.window
        RATE.set(rate)
        return rate


async def metrics(_request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
