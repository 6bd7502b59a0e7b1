"""The one sender that drains the outbox, within the platform's limits, in each person's order.

It runs only in the process that holds the lead (bot/leader.py). It claims a
window of due rows, hands each address's rows to one worker (so a person's
messages arrive in order, while different people are served side by side),
keeps under the send limits, and writes the outcomes back in batches:

- sent: never claimed again;
- 429: everything pauses for `retry_after`, then the same message is tried again;
- network trouble (or Telegram's own 5xx): back to the queue with exponential
  backoff, at most ten minutes apart, for up to a day (RETRY_FOR); an invite or
  a reminder whose next try falls in quiet hours waits for their end (none is
  claimed in quiet hours: storage.outbox.claim);
- blocked (403): the contact is opted out and nothing more is sent to them, and
  the chat's summary subscriptions end (storage/chats.py);
- moved (a Telegram group that became a supergroup): what waits for it, and its
  subscriptions, take the new chat id, and the message goes again at once;
- refused (400): failed for good, with Telegram's reason kept;
- no longer wanted (an invite or reminder whose wave closed, or whose person
  opted out, was forgotten, began or finished, after it was claimed):
  cancelled, looked up just before it would go (storage.waves.no_longer_wanted).

At most WINDOW rows are claimed and not yet settled in the database at any
moment (sent rows count until their outcome is written), which bounds what a
crash can send twice. A stop (a restart, the lead lost) sends twice nothing
that was on its way: those calls are given STOP_GRACE to finish and are
recorded as sent, while nothing new starts; what had not started is queued
again by the next sender's `recover` (on PostgreSQL due after RECOVER_AFTER,
as the last leader may still be finishing).

Replies come first. Someone answering a survey waits for each next question,
while a wave's invitations can take minutes to go out at Telegram's overall
limit: a queued reply is claimed as soon as there is any room (storage/outbox.py
claims replies first), and a reply's turn at the overall limit comes before
any invitation, reminder or summary that waits for one.

Usage (bot/service.py does this in the leader):
    sender = OutboxSender(runtime, {"telegram": transport}, limits)
    task = asyncio.create_task(sender.run())
    sender.wake()       # after committing new rows, so they go out at once
    sender.wake(reply=True)   # ... and someone is waiting for them
    sender.take(messages)     # replies committed as already claimed (the channel, in the leader)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot import metrics
from bot.errors import SendFailed
from bot.leader import CHECK_SECONDS
from bot.rate_limit import SendLimits
from bot.runtime import Runtime
from bot.schedule import QuietClock
from storage.chats import follow, lost
from storage.outbox import CONVERSATION, ERASURE, QUIET_KINDS, Message, Settlement, claim, recover, settle
from storage.waves import no_longer_wanted

logger = logging.getLogger(__name__)
Transport = Callable[[str, dict[str, Any]], Awaitable[None]]
WINDOW = 64
POLL_SECONDS = 0.5
SETTLE_SECONDS = 0.005
RETRY_FOR = timedelta(days=1)
MAX_PAUSES = 20
STOP_GRACE = 5.0  # seconds a stopping sender waits for the calls already on their way to the platform
# On PostgreSQL, how long a new leader leaves the last one's rows in flight before queueing them again:
# the last one notices its lost lead within CHECK_SECONDS, then waits STOP_GRACE and records what landed.
RECOVER_AFTER = CHECK_SECONDS + STOP_GRACE + 4.0


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 … seconds after each failed try, at most ten minutes."""
    return timedelta(seconds=min(2**attempts, 600))


def tries_within(budget: timedelta) -> int:
    """How many tries a message gets before its backing off adds up to `budget`.

    Telegram has been unreachable for hours at a time. With eight tries, a
    reply gave up after four minutes of trouble, and the resident never got
    their next question; now it goes out once Telegram is back, within a day.
    """
    tries, waited = 1, timedelta(0)
    while waited < budget:
        waited += backoff(tries)
        tries += 1
    return tries


MAX_ATTEMPTS = tries_within(RETRY_FOR)


class OutboxSender:
    def __init__(
        self,
        runtime: Runtime,
        transports: dict[str, Transport],
        limits: SendLimits,
        *,
        counted: Callable[[dict[str, Any]], bool] = lambda _payload: True,
        window: int = WINDOW,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.transports = transports
        self.limits = limits
        self.counted = counted
        self.window = window
        self.poll_seconds = poll_seconds
        self.rate = metrics.SendRate()
        self._wakeup = asyncio.Event()
        self._queues: dict[tuple[str, str], deque[Message]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = Settlement()
        self._unreachable: set[tuple[str, str]] = set()
        self._moved: set[tuple[str, str, str]] = set()
        self._quiet = QuietClock.of(runtime.settings)
        self._settled = asyncio.Event()
        self._turn = asyncio.Lock()
        self._bulk_turn = asyncio.Lock()
        self._replies = False
        self._held = 0
        self._on_the_way: set[asyncio.Task[Any]] = set()  # workers whose call to the platform has begun
        self._landed = asyncio.Event()
        self._stopping = False
        self.running = False
        self._flusher: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        """Rows claimed and not yet settled in the database: what a crash now could send twice."""
        return self._held

    def wake(self, reply: bool = False) -> None:
        """Look for due rows now; with `reply`, claim them even if the window has only a little room."""
        self._replies = self._replies or reply
        self._wakeup.set()

    async def run(self) -> None:
        """Drain the outbox until cancelled; on cancel, settle what was sent so it is not sent again.

        It runs again each time a process on PostgreSQL takes the lead back: what
        an earlier run held and had not started is the `recover` of this one, and
        only outcomes still to be written count as in flight.
        """
        self._stopping = False
        self._queues.clear()
        self._held = len(self._pending)
        await self._recover()
        self._flusher = asyncio.create_task(self._flush_forever())
        self.running = True
        try:
            while True:
                room = self.window - self.in_flight
                claimed = await self._claim(room) if self._worth_claiming(room) else []
                if len(claimed) < room or not claimed:
                    await self._idle()
                    self._wakeup.clear()
                self.rate.update()
        finally:
            self.running = False
            await self._stop_workers()
            await self._stop_flusher(self._flusher)
            await self._flush()

    async def _recover(self) -> None:
        """Queue again what the last sender left in flight: due at once on SQLite, after RECOVER_AFTER on PostgreSQL.

        On SQLite the last leader has ended: its flock is freed only then. On
        PostgreSQL it may live on, having lost only its lock's connection, with
        calls on their way that land and are recorded as sent as it stops (sent
        is recorded over queued: storage.outbox.settle); due at once, they went
        a second time from here. Until they are due, a later message to the
        same person waits behind them.
        """
        later = None if self.runtime.db.is_sqlite else self.runtime.clock() + timedelta(seconds=RECOVER_AFTER)
        recovered = await self.runtime.db.write(lambda session: recover(session, later))
        if recovered:
            logger.warning(
                "outbox: %s messages were in flight when the last sender stopped; queued again%s",
                recovered,
                "" if later is None else f", due in {RECOVER_AFTER:g}s unless it records them as sent",
            )

    async def _stop_workers(self) -> None:
        """Let the calls already on their way finish, for up to STOP_GRACE, and start nothing new.

        A call cancelled on its way may have reached the platform all the same;
        its row, never recorded as sent, went again from the next sender: on a
        restart mid-wave, every invite then in flight reached its resident twice.
        """
        self._stopping = True
        for worker in self._workers - self._on_the_way:
            worker.cancel()
        if self._on_the_way:
            self._landed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE):
                    await self._landed.wait()
        for worker in list(self._workers):
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _stop_flusher(self, flusher: asyncio.Task[None]) -> None:
        """Let a write of outcomes under way finish, for up to STOP_GRACE, rather than cancel it.

        Cancelled mid-write on PostgreSQL, it was rolled back: the rows it
        recorded as sent stayed in flight and went again from the next sender.
        """
        self._settled.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_GRACE):
                await asyncio.shield(flusher)
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)

    def _worth_claiming(self, room: int) -> bool:
        """Claim once half the window is free, not after every message that settles, unless a reply waits.

        Each claim reads the due rows in order; during a large wave, claiming the
        one or two rows just freed, hundreds of times a second, cost the sender
        most of a core on SQLite. A reply is worth a claim of its own.
        """
        return room > 0 and (room * 2 >= self.window or self._replies)

    async def _idle(self) -> None:
        """Wait for a wake-up or the poll interval.

        asyncio.timeout, not wait_for: on Python 3.11 a cancel that lands as
        wait_for times out becomes a TimeoutError, which would swallow the
        stop signal and leave the sender running forever.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_seconds):
                await self._wakeup.wait()

    def take(self, messages: list[Message]) -> bool:
        """Send replies committed as already claimed (storage.outbox.enqueue_taken); False when not sending now.

        The channel that answered the update hands them over after its commit:
        no claim, so no second transaction and no wait for room before the
        resident gets the next question. They count against the window like
        any claimed row, so it can be exceeded by the replies of the updates
        being applied at that moment.
        """
        if not self.running:
            return False
        self._hand_out(messages)
        return True

    async def _claim(self, room: int) -> list[Message]:
        now = self.runtime.clock()
        self._replies = False
        quiet = self._quiet.is_quiet(now)
        claimed = await self.runtime.db.write(lambda session: claim(session, now, room, quiet=quiet), quick=True)
        erasures = [message for message in claimed if message.kind == ERASURE]
        self._hand_out([message for message in claimed if message.kind != ERASURE])
        if erasures:
            await self.runtime.db.empty_wal()  # before "everything has been erased" goes, it is so on disk too
            self._hand_out(erasures)
        return claimed

    def _hand_out(self, messages: list[Message]) -> None:
        """Give each message to its address's worker, starting one if none is at work; they count as held until settled."""
        self._held += len(messages)
        for message in messages:
            key = (message.channel, message.address)
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                worker = asyncio.create_task(self._work(key, queue))
                self._workers.add(worker)
                worker.add_done_callback(self._workers.discard)
            queue.append(message)

    async def _work(self, key: tuple[str, str], queue: deque[Message]) -> None:
        """Send one address's messages in order; stop early when one must wait or the person is unreachable."""
        try:
            while queue and not self._stopping:
                if not await self._deliver(queue[0]):
                    queue.popleft()
                    self._pending.released += [m.id for m in queue]
                    queue.clear()
                    break
                queue.popleft()
        finally:
            self._queues.pop(key, None)
            self._settled.set()

    async def _deliver(self, message: Message) -> bool:
        """Send one message, pausing for 429s; False when the rest of this address's messages must wait."""
        transport = self.transports.get(message.channel)
        if transport is None:
            self._fail(message, f"no transport for channel {message.channel}", "no-transport")
            return True
        for _ in range(MAX_PAUSES):
            if self.counted(message.payload):
                await self._acquire(message.address, message.kind in CONVERSATION)
            try:
                if message.invitation_id is not None and not await self._still_wanted(message):
                    return True
                await self._on_its_way(transport(message.address, message.payload))
            except SendFailed as error:
                if error.retry_after is not None:
                    metrics.TOO_MANY.inc()
                    logger.info("outbox %s: %s; pausing all sends", message.id, error)
                    self.limits.pause(error.retry_after)
                    continue
                return self._failed(message, error)
            self._pending.sent.append(message.id)
            metrics.SENT.labels(message.channel).inc()
            self.rate.sent()
            self._settled.set()
            return True
        return self._failed(message, SendFailed("still rate-limited after many pauses", retryable=True))

    async def _still_wanted(self, message: Message) -> bool:
        """Look, just before it goes, whether an invite or reminder should still go; cancel it if not.

        Asked after the wait for the limits, which during a wave is most of
        the time a row spends claimed. If the database cannot say, it is tried
        again later like a send that failed, rather than sent unchecked.
        """
        invitation_id, kind = message.invitation_id, message.kind
        assert invitation_id is not None
        try:
            reason = await self.runtime.db.fetch(lambda session: no_longer_wanted(session, invitation_id, kind))
        except (SQLAlchemyError, OSError) as error:
            cause = getattr(error, "orig", None) or error  # the driver's words, without SQLAlchemy's SQL and link
            raise SendFailed(f"could not check its invitation: {cause}", retryable=True) from error
        if reason is not None:
            logger.info("outbox %s (%s, invitation %s) not sent: %s", message.id, kind, invitation_id, reason)
            self._pending.cancelled.append((message.id, reason))
            self._settled.set()
        return reason is None

    async def _on_its_way(self, call: Awaitable[None]) -> None:
        """Make the call, counted as on its way until it returns, so that a stop waits for it (see _stop_workers)."""
        worker = asyncio.current_task()
        assert worker is not None
        self._on_the_way.add(worker)
        try:
            await call
        finally:
            self._on_the_way.discard(worker)
            if not self._on_the_way:
                self._landed.set()

    def _failed(self, message: Message, error: SendFailed) -> bool:
        if error.moved_to is not None:
            logger.info("outbox %s: %s; its messages and subscriptions follow", message.id, error)
            self._moved.add((message.channel, message.address, error.moved_to))
            self._pending.retries.append((message.id, self.runtime.clock(), str(error)))
            return False
        if error.unreachable:
            self._fail(message, str(error), "unreachable")
            self._unreachable.add((message.channel, message.address))
            return False
        if error.retryable and message.attempts < MAX_ATTEMPTS:
            not_before = self.runtime.clock() + backoff(message.attempts)
            if message.kind in QUIET_KINDS:
                not_before = self._quiet.next_allowed(not_before)
            logger.info("outbox %s (attempt %s): %s; retrying at %s", message.id, message.attempts, error, not_before)
            self._pending.retries.append((message.id, not_before, str(error)))
            metrics.RETRIED.labels(message.channel).inc()
            return False
        self._fail(message, str(error), "refused" if not error.retryable else "gave-up")
        return True

    def _fail(self, message: Message, reason: str, label: str) -> None:
        logger.warning(
            "outbox %s (%s, invitation %s) failed: %s", message.id, message.kind, message.invitation_id, reason
        )
        self._pending.failures.append((message.id, reason))
        metrics.FAILED.labels(message.channel, label).inc()
        self._settled.set()

    async def _acquire(self, address: str, reply: bool) -> None:
        """Wait for the chat's own limit, then take a turn at the overall one.

        One worker per address means no one else spends this chat's tokens, so
        only the overall limit is contended: workers queue for it one at a
        time (in order) instead of all waking for every token. Other messages
        first queue among themselves, so a reply waits for at most one of them.
        """
        while (wait := self.limits.chat_wait(address)) > 0:
            await asyncio.sleep(wait)
        async with contextlib.nullcontext() if reply else self._bulk_turn, self._turn:
            while (wait := self.limits.take(address)) > 0:
                await asyncio.sleep(wait)

    async def _flush_forever(self) -> None:
        """Write outcomes soon after they happen, gathering those of the next few milliseconds into one write.

        Writing each send's outcome as it came cost a statement per message (a
        button press sends two); the few milliseconds only delay when a sent row
        stops counting against the window.
        """
        while not self._stopping:
            await self._settled.wait()
            await asyncio.sleep(SETTLE_SECONDS)
            self._settled.clear()
            await self._flush()

    async def _flush(self) -> None:
        """Write back every outcome so far in one transaction; kept for the next try if the database is busy.

        Only then is there room for more, so only then is the claim loop woken,
        if it was waiting for room or rows went back to the queue. Waking it
        whenever a person's messages were sent claimed nothing on half the tries
        and, with the window full, freed no room: the next claim came at the poll.
        """
        settlement, self._pending = self._pending, Settlement()
        unreachable, self._unreachable = self._unreachable, set()
        moved, self._moved = self._moved, set()
        if not settlement and not unreachable and not moved:
            return
        now = self.runtime.clock()

        def work(session: Session) -> None:
            settle(session, now, settlement)
            for channel, address in unreachable:
                logger.info("a %s chat refused a message for good: %s", channel, lost(session, channel, address, now))
            for channel, old, new in moved:
                follow(session, channel, old, new, now)

        room_before = self.window - self.in_flight
        try:
            await self.runtime.db.write(work, quick=True)
            self._held -= len(settlement)
        except Exception:
            logger.exception(
                "outbox: could not record %s outcomes; keeping them for the next try", len(settlement.sent)
            )
            self._pending = _merged(settlement, self._pending)
            self._unreachable |= unreachable
            self._moved |= moved
            await asyncio.sleep(1)
            self._settled.set()
            return
        if settlement.released or not self._worth_claiming(room_before):
            self.wake()


def _merged(first: Settlement, second: Settlement) -> Settlement:
    return Settlement(
        first.sent + second.sent,
        first.released + second.released,
        first.retries + second.retries,
        first.failures + second.failures,
        first.cancelled + second.cancelled,
    )
