"""The outbox on each database: claimed in order, settled once, recovered after a crash, cancelled on opt-out."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select
from telegram.ext import ExtBot

from bot import outbox_sender
from bot.config import load_settings
from bot.errors import SendFailed
from bot.outbox_sender import OutboxSender
from bot.rate_limit import SendLimits
from bot.runtime import Runtime
from bot.telegram.channel import TelegramChannel
from bot.telegram.updates import Inbound
from storage import prepared
from storage.contacts import get_or_create_contact, opt_out
from storage.database import Database
from storage.models import Outbox
from storage.outbox import (
    ERASURE,
    Message,
    Settlement,
    claim,
    enqueue,
    enqueue_taken,
    outbox_row,
    outbox_status,
    recover,
    settle,
)
from tests.conftest import NOW, SECRET
from tests.fake_telegram import TOKEN


async def queue(db: Database, *messages: tuple[str, str], kind: str = "reply") -> None:
    """Queue (address, text) pairs in order."""

    def work(session: Any) -> None:
        for number, (address, text) in enumerate(messages):
            enqueue(
                session,
                outbox_row(
                    channel="telegram",
                    address=address,
                    payload={"text": text},
                    dedupe_key=f"{address}:{text}:{number}",
                    now=NOW,
                    kind=kind,
                ),
            )

    await db.write(work)


async def statuses(db: Database) -> dict[str, str]:
    async with db.read() as session:
        rows = (await session.execute(select(Outbox.payload, Outbox.status, Outbox.dedupe_key))).all()
    return {key: status for _, status, key in rows}


async def test_claim_takes_due_rows_oldest_first_and_marks_them_sending(db: Database) -> None:
    await queue(db, ("1", "a"), ("2", "b"), ("1", "c"))
    first = await db.write(lambda s: claim(s, NOW, 2))
    assert [m.payload["text"] for m in first] == ["a", "b"]
    assert [m.attempts for m in first] == [1, 1]
    second = await db.write(lambda s: claim(s, NOW, 10))
    assert [m.payload["text"] for m in second] == ["c"], "rows being sent are not claimed twice"
    assert await db.write(lambda s: claim(s, NOW, 10)) == []


async def test_a_sent_row_is_never_claimed_again_and_keeps_no_payload(db: Database) -> None:
    await queue(db, ("1", "hello"))
    [message] = await db.write(lambda s: claim(s, NOW, 10))
    await db.write(lambda s: settle(s, NOW, Settlement(sent=[message.id])))
    await db.write(recover)
    assert await db.write(lambda s: claim(s, NOW, 10)) == []
    async with db.read() as session:
        row = await session.get(Outbox, message.id)
    assert row is not None and (row.status, row.payload, row.sent_at is not None) == ("sent", {}, True)


async def test_a_later_message_does_not_overtake_one_waiting_for_a_retry(db: Database) -> None:
    await queue(db, ("1", "first"), ("1", "second"), ("2", "other"))
    claimed = await db.write(lambda s: claim(s, NOW, 1))
    retry_at = NOW + timedelta(seconds=30)
    await db.write(lambda s: settle(s, NOW, Settlement(retries=[(claimed[0].id, retry_at, "timed out")])))
    assert [m.payload["text"] for m in await db.write(lambda s: claim(s, NOW, 10))] == ["other"]
    later = await db.write(lambda s: claim(s, retry_at, 10))
    assert [m.payload["text"] for m in later] == ["first", "second"]
    assert [m.attempts for m in later] == [2, 1]


async def test_replies_are_claimed_before_a_wave_queued_earlier(db: Database) -> None:
    await queue(db, *[(str(n), "invite") for n in range(5)], kind="invite")
    await queue(db, ("7", "next question"), ("8", "next question"))
    await queue(db, ("9", "Done. Everything we held about you has been erased."), kind=ERASURE)
    claimed = await db.write(lambda s: claim(s, NOW, 4))
    assert [(m.address, m.kind) for m in claimed] == [("9", ERASURE), ("7", "reply"), ("8", "reply"), ("0", "invite")]


async def test_a_reply_waits_for_an_earlier_reply_being_retried_but_not_for_an_invite(db: Database) -> None:
    await queue(db, ("1", "invite"), kind="invite")
    await queue(db, ("2", "first reply"))
    retry_at = NOW + timedelta(seconds=30)
    failed = await db.write(lambda s: claim(s, NOW, 10))
    await db.write(lambda s: settle(s, NOW, Settlement(retries=[(m.id, retry_at, "timed out") for m in failed])))
    await queue(db, ("1", "a reply"), ("2", "second reply"))
    assert [m.payload["text"] for m in await db.write(lambda s: claim(s, NOW, 10))] == ["a reply"]
    later = await db.write(lambda s: claim(s, retry_at, 10))
    assert [m.payload["text"] for m in later] == ["first reply", "second reply", "invite"]


def replies(address: str, *texts: str, update: int = 1) -> list[dict[str, Any]]:
    return [
        outbox_row(channel="telegram", address=address, payload={"text": text}, dedupe_key=f"{update}:{n}", now=NOW)
        for n, text in enumerate(texts)
    ]


async def test_replies_taken_for_the_sender_are_committed_as_sending_and_a_crash_puts_them_back(db: Database) -> None:
    taken = await db.write(lambda s: enqueue_taken(s, replies("1", "edited question", "next question")))
    assert [(m.payload["text"], m.attempts) for m in taken] == [("edited question", 1), ("next question", 1)]
    assert await db.write(lambda s: enqueue_taken(s, replies("1", "edited question"))) == [], (
        "a dedupe key is taken once"
    )
    assert set((await statuses(db)).values()) == {"sending"}
    assert await db.write(lambda s: claim(s, NOW, 10)) == [], "the sender already holds them"
    assert await db.write(recover) == 2
    assert [m.id for m in await db.write(lambda s: claim(s, NOW, 10))] == [m.id for m in taken]


async def test_a_reply_is_not_taken_while_an_earlier_reply_to_them_waits_but_is_after_an_invite(db: Database) -> None:
    await queue(db, ("1", "first reply"))
    await queue(db, ("2", "invite"), kind="invite")
    retry_at = NOW + timedelta(seconds=30)
    failed = await db.write(lambda s: claim(s, NOW, 10))
    await db.write(lambda s: settle(s, NOW, Settlement(retries=[(m.id, retry_at, "timed out") for m in failed])))
    assert await db.write(lambda s: enqueue_taken(s, replies("1", "second reply", update=2))) == []
    assert [m.payload["text"] for m in await db.write(lambda s: claim(s, retry_at, 10))] == [
        "first reply",
        "second reply",
        "invite",
    ]
    [taken] = await db.write(lambda s: enqueue_taken(s, replies("2", "a reply", update=3)))
    assert taken.payload["text"] == "a reply"


class StopsAsItTakes(OutboxSender):
    """A sender that loses the lead just as the channel hands it an update's replies."""

    def take(self, messages: list[Message]) -> bool:
        self.running = False
        return super().take(messages)


async def test_replies_handed_to_a_sender_that_has_just_stopped_are_queued_again(runtime: Runtime) -> None:
    sender = StopsAsItTakes(runtime, {}, SendLimits(30))
    sender.running = True
    woken: list[bool] = []
    channel = TelegramChannel(runtime, on_queued=lambda: woken.append(True), bot=ExtBot(TOKEN), sender=sender)
    assert await channel.process(Inbound(update_id=1, chat_id=7, language_code="en", text="/help", message_id=5))
    [reply] = await runtime.db.write(lambda s: claim(s, NOW, 10))
    assert reply.address == "7" and "/stop" in reply.payload["text"]
    assert woken and sender.in_flight == 0


async def test_after_a_crash_rows_in_flight_are_queued_again_and_nothing_is_lost(db: Database) -> None:
    await queue(db, *[(str(n), "hi") for n in range(5)])
    in_flight = await db.write(lambda s: claim(s, NOW, 3))
    await db.write(lambda s: settle(s, NOW, Settlement(sent=[in_flight[0].id])))
    assert await db.write(recover) == 2
    again = await db.write(lambda s: claim(s, NOW, 10))
    assert sorted(m.address for m in again) == ["1", "2", "3", "4"]


async def test_a_new_leader_on_postgresql_sends_what_a_crashed_one_left_in_flight_once_it_has_waited(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last leader may live on and record those calls as sent; meanwhile a later message to the same person
    waits behind theirs, so the person still gets their messages in order."""
    if db.is_sqlite:
        pytest.skip("on SQLite what the last leader left is queued again at once")
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setattr(outbox_sender, "RECOVER_AFTER", 0.5)
    await queue(db, ("chat-1", "left in flight"))
    await db.write(lambda s: claim(s, NOW, 10))
    sent: list[tuple[str, float]] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append((payload["text"], asyncio.get_running_loop().time()))

    began = asyncio.get_running_loop().time()
    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sender = OutboxSender(Runtime(load_settings(None), db), {"telegram": transport}, limits, poll_seconds=0.05)
    leading = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(10):
            while not sender.running:
                await asyncio.sleep(0.01)
            await queue(db, ("chat-1", "later"))
            sender.wake(reply=True)
            while len(sent) < 2:
                await asyncio.sleep(0.01)
    finally:
        leading.cancel()
        await asyncio.gather(leading, return_exceptions=True)
    assert [text for text, _ in sent] == ["left in flight", "later"]
    assert sent[0][1] - began >= 0.5, "queued again only after the wait"
    assert set((await statuses(db)).values()) == {"sent"}


async def test_failures_and_releases_are_recorded(db: Database) -> None:
    await queue(db, ("1", "a"), ("2", "b"))
    a, b = await db.write(lambda s: claim(s, NOW, 10))
    await db.write(
        lambda s: settle(s, NOW, Settlement(failures=[(a.id, "Bad Request: chat not found")], released=[b.id]))
    )
    async with db.read() as session:
        failed = await session.get(Outbox, a.id)
        status = await session.run_sync(outbox_status, NOW)
    assert failed is not None and failed.last_error == "Bad Request: chat not found"
    assert (status.counts["failed"], status.counts["queued"], status.counts["sending"]) == (1, 1, 0)


async def test_opting_out_cancels_what_is_still_queued_at_once(db: Database) -> None:
    def work(session: Any) -> None:
        contact = get_or_create_contact(session, channel="telegram", address="1", now=NOW)
        session.flush()
        opt_out(session, contact.id, NOW)

    await queue(db, ("1", "invite"), ("1", "reminder"), ("2", "other"))
    await db.write(work)
    assert [m.address for m in await db.write(lambda s: claim(s, NOW, 10))] == ["2"]
    assert sorted(s for k, s in (await statuses(db)).items() if k.startswith("1:")) == ["cancelled", "cancelled"]


async def test_an_erasure_confirmation_leaves_no_row_once_claimed(db: Database) -> None:
    await queue(db, ("1", "Done. Everything we held about you has been erased."), kind=ERASURE)
    [message] = await db.write(lambda s: claim(s, NOW, 10))
    assert message.kind == ERASURE and message.payload["text"].startswith("Done.")
    assert await statuses(db) == {}


async def test_two_senders_claiming_at_once_never_take_the_same_row(db: Database) -> None:
    await queue(db, *[(str(n), "hi") for n in range(200)])
    batches = await asyncio.gather(*[db.write(lambda s: claim(s, NOW, 30)) for _ in range(8)])
    ids = [m.id for batch in batches for m in batch]
    assert len(ids) == len(set(ids)) == 200


async def test_the_sender_drains_a_queue_longer_than_its_window_without_waiting_for_its_poll(
    db: Database, runtime: Runtime
) -> None:
    """As each batch's outcomes are written, room in the window brings the next claim at once."""
    await queue(db, *((f"chat-{n}", f"message {n}") for n in range(40)))
    sent: list[tuple[str, str]] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append((address, payload["text"]))

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sender = OutboxSender(runtime, {"telegram": transport}, limits, window=8, poll_seconds=3600)
    sending = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(20):
            while len(sent) < 40 or sender.in_flight:
                await asyncio.sleep(0.01)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert sorted(sent) == sorted((f"chat-{n}", f"message {n}") for n in range(40))
    assert set((await statuses(db)).values()) == {"sent"}


async def test_a_reply_goes_out_next_while_a_wave_fills_the_window_and_waits_for_the_limit(
    db: Database, runtime: Runtime
) -> None:
    """The invitations ahead of it hold every slot of the window and queue for the overall limit; the reply goes next."""
    await queue(db, *((f"chat-{n}", "invite") for n in range(200)), kind="invite")
    sent: list[str] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append(address)

    limits = SendLimits(50, chat_rate=1e6, chat_burst=1e6)
    sender = OutboxSender(runtime, {"telegram": transport}, limits, window=32, poll_seconds=3600)
    sending = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(20):
            while len(sent) < 5 or sender.in_flight < 32:
                await asyncio.sleep(0.002)
            await queue(db, ("resident", "the next question"))
            sender.wake(reply=True)
            invited = len(sent)
            while "resident" not in sent:
                await asyncio.sleep(0.002)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert sent.index("resident") - invited <= 6, f"{sent.index('resident') - invited} invitations went first"


async def test_a_stopping_sender_lets_the_call_on_its_way_land_and_starts_no_other(
    db: Database, runtime: Runtime
) -> None:
    """Recorded as sent, it does not go again from the next sender; the one behind it waits for that sender."""
    await queue(db, ("chat-1", "first"), ("chat-1", "second"))
    on_its_way, answer = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        calls.append(payload["text"])
        on_its_way.set()
        await answer.wait()

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sending = asyncio.create_task(OutboxSender(runtime, {"telegram": transport}, limits).run())
    async with asyncio.timeout(10):
        await on_its_way.wait()
        sending.cancel()
        await asyncio.sleep(0.05)
        assert not sending.done(), "the stop waits for the call on its way"
        answer.set()
        await asyncio.gather(sending, return_exceptions=True)
    assert calls == ["first"]
    assert sorted((await statuses(db)).values()) == ["sending", "sent"], "the second is queued again by `recover`"


async def test_a_stopping_sender_gives_up_on_a_call_that_does_not_land_in_time(
    db: Database, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_sender, "STOP_GRACE", 0.2)
    await queue(db, ("chat-1", "first"))
    on_its_way = asyncio.Event()

    async def transport(address: str, payload: dict[str, Any]) -> None:
        on_its_way.set()
        await asyncio.Event().wait()

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sending = asyncio.create_task(OutboxSender(runtime, {"telegram": transport}, limits).run())
    async with asyncio.timeout(10):
        await on_its_way.wait()
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert list((await statuses(db)).values()) == ["sending"], "its outcome unknown, it is queued again by `recover`"


async def test_a_sender_that_stopped_sends_again_when_it_runs_again(db: Database, runtime: Runtime) -> None:
    """On PostgreSQL a process that lost the lead and takes it again runs the same sender again."""
    sent: list[str] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append(payload["text"])

    sender = OutboxSender(runtime, {"telegram": transport}, SendLimits(1e6, chat_rate=1e6, chat_burst=1e6))
    for text in ("first", "second"):
        await queue(db, ("chat-1", text))
        sending = asyncio.create_task(sender.run())
        try:
            async with asyncio.timeout(10):
                while text not in sent or sender.in_flight:
                    await asyncio.sleep(0.005)
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
    assert sent == ["first", "second"]


class HeldWrites(Database):
    """The test database, whose writes wait, once `holding`, until `go` is set."""

    def __init__(self, db: Database) -> None:
        self.__dict__.update(db.__dict__)
        self.holding, self.writing, self.go = False, asyncio.Event(), asyncio.Event()

    async def write(self, work: Any, *, quick: bool = False) -> Any:
        if self.holding:
            self.writing.set()
            await self.go.wait()
        return await super().write(work, quick=quick)


async def test_a_sender_stopped_while_it_writes_its_outcomes_lets_that_write_finish(
    db: Database, runtime: Runtime
) -> None:
    """Cancelled mid-write, the outcomes were rolled back on PostgreSQL, and the rows went again from the next sender."""
    await queue(db, ("chat-1", "hello"))
    held = HeldWrites(db)
    sent: list[str] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append(payload["text"])
        held.holding = True  # the sender's next write is this send's outcome

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sending = asyncio.create_task(OutboxSender(Runtime(runtime.settings, held), {"telegram": transport}, limits).run())
    async with asyncio.timeout(10):
        await held.writing.wait()
        sending.cancel()
        await asyncio.sleep(0.05)
        held.go.set()
        await asyncio.gather(sending, return_exceptions=True)
    assert sent == ["hello"]
    assert list((await statuses(db)).values()) == ["sent"]


async def test_a_message_waits_out_hours_of_network_trouble_then_goes_once(db: Database, runtime: Runtime) -> None:
    """Telegram unreachable for six hours: the resident's next question goes out when it is back, not never."""
    clock = [NOW]
    moving = Runtime(runtime.settings, db, clock=lambda: clock[0])
    await queue(db, ("chat-1", "the next question"))
    tries, sent, down = 0, [], True

    async def transport(address: str, payload: dict[str, Any]) -> None:
        nonlocal tries
        tries += 1
        if down:
            raise SendFailed("network: Bad Gateway", retryable=True)
        sent.append(payload["text"])

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sender = OutboxSender(moving, {"telegram": transport}, limits, poll_seconds=0.01)
    sending = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(30):
            while clock[0] < NOW + timedelta(hours=6):
                tried = tries
                while tries == tried:
                    await asyncio.sleep(0.002)
                clock[0] += timedelta(minutes=10)  # the longest wait between tries
            down = False
            while not sent or sender.in_flight:
                await asyncio.sleep(0.002)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert sent == ["the next question"]
    row = await only_row(db)
    assert (row.status, row.attempts) == ("sent", tries)
    assert tries > 36, "tried again all through the six hours"


@pytest.mark.parametrize(
    ("kind", "next_try"),
    [
        ("invite", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),  # quiet from 21:00 to 09:00, London on UTC in winter
        ("reminder", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),
        ("reply", datetime(2026, 11, 28, 21, 0, 1, tzinfo=UTC)),  # the person is talking to the bot now
    ],
)
async def test_a_retried_invite_waits_out_quiet_hours_and_a_reply_does_not(
    db: Database, runtime: Runtime, kind: str, next_try: datetime
) -> None:
    evening = Runtime(runtime.settings, db, clock=lambda: datetime(2026, 11, 28, 20, 59, 59, tzinfo=UTC))
    await queue(db, ("chat-1", "Your views on repairs"), kind=kind)

    async def transport(address: str, payload: dict[str, Any]) -> None:
        raise SendFailed("network: Bad Gateway", retryable=True)  # the first try, two seconds before 21:00

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sending = asyncio.create_task(OutboxSender(evening, {"telegram": transport}, limits).run())
    try:
        async with asyncio.timeout(10):
            while (row := await only_row(db)).attempts == 0 or row.status != "queued":
                await asyncio.sleep(0.01)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert row.not_before.astimezone(UTC) == next_try


async def only_row(db: Database) -> Outbox:
    async with db.read() as session:
        row = await session.scalar(select(Outbox))
    assert row is not None
    return row


async def outbox_indexes(db: Database) -> dict[str, str]:
    """The outbox's indexes, each as the database itself states it."""
    query = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL"
        if db.is_sqlite
        else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox' AND schemaname = current_schema()"
    )
    async with db.read() as session:
        connection = await session.connection()
        return {name: definition for name, definition in (await connection.exec_driver_sql(query)).all()}


async def test_the_outboxs_indexes_hold_only_the_rows_their_lookups_want(db: Database) -> None:
    """Sent rows are kept for the retention period: in indexes by status, every reply was written among all of them,
    and following a wave's invites counted them by walking every row."""
    indexes = await outbox_indexes(db)
    assert re.search(r"\(invitation_id\) WHERE \(*invitation_id IS NOT NULL\)*$", indexes["ix_outbox_invitation"])
    of_status = {
        name: found.group(1)
        for name, definition in indexes.items()
        if (found := re.search(r"WHERE \(*status\)*(?:::text)? = '(\w+)'", definition))
    }
    assert of_status == {
        "ix_outbox_claim": "queued",
        "ix_outbox_conversation": "queued",
        "ix_outbox_order": "queued",
        "ix_outbox_in_flight": "sending",
    }
    assert not [name for name, definition in indexes.items() if name not in of_status and "status" in definition]


def plans(connection: Connection, statements: list[str]) -> list[str]:
    """SQLite's plan for each statement, planned with none of its values known, as it first is."""
    found = []
    for sql in statements:
        nulls = (None,) * sql.count("?")
        found += [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", nulls)]
    return found


async def test_the_sender_finds_queued_rows_through_those_indexes_when_it_plans_its_statements(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status bound as a value cannot match a partial index when SQLite plans the statement: it then walked
    every row of the person's, or of the outbox, or planned the statement again on each run."""
    if not db.is_sqlite:
        pytest.skip("the plans of SQLite's query planner")
    run: list[str] = []

    def recording(connection: Connection, sql: str, parameters: Any, *, many: bool = False) -> Any:
        run.append(sql)
        return real_run(connection, sql, parameters, many=many)

    real_run = prepared._run
    monkeypatch.setattr(prepared, "_run", recording)
    await queue(db, ("1", "invite"), kind="invite")
    await db.write(lambda s: enqueue_taken(s, replies("1", "a reply")))
    await db.write(lambda s: claim(s, NOW, 10))
    await db.write(lambda s: claim(s, NOW, 10, quiet=True))
    lookups = [sql for sql in dict.fromkeys(run) if sql.startswith("SELECT")]
    steps = await db.write(lambda s: plans(s.connection(), lookups))
    assert len(lookups) == 3, "the check for an earlier reply; a claim of one kind (replies, summaries), and of any"
    assert not [step for step in steps if re.fullmatch(r"SCAN (outbox|earlier)", step)], steps
    used = {name for step in steps for name in re.findall(r"INDEX (ix_outbox_\w+)", step)}
    assert used == {"ix_outbox_claim", "ix_outbox_conversation", "ix_outbox_order"}
