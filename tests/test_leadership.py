"""Two processes' leadership on one PostgreSQL database, in one test process: the lead lost and taken over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from bot import outbox_sender
from bot.config import load_settings
from bot.leader import lock_key
from bot.outbox_sender import OutboxSender
from bot.rate_limit import SendLimits
from bot.runtime import Runtime
from bot.service import lead
from storage.database import Database
from storage.models import Outbox
from storage.outbox import enqueue, outbox_row
from tests.conftest import NOW, SECRET


async def end_lock_connection(db: Database) -> None:
    """As an idle-session timeout, a proxy or an administrator might: only the leader's lock connection ends."""
    async with db.writer.connect() as connection:
        ended = await connection.scalar(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objid = :key AND granted"
            ),
            {"key": lock_key(db)},
        )
        await connection.commit()
    assert ended, "the leader held the lock"


async def test_a_leader_that_loses_its_lock_connection_gives_way_and_nothing_on_its_way_goes_twice(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last leader lives on: its call on the way to Telegram lands and is recorded as sent after the new
    leader has begun; the new one must not send that message again."""
    if db.is_sqlite:
        pytest.skip("on SQLite the lead is a flock, lost only when its process ends")
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_QUIET_HOURS", "00:00-00:00")
    monkeypatch.setattr(outbox_sender, "RECOVER_AFTER", 2.0)
    await db.write(
        lambda session: enqueue(
            session, outbox_row(channel="telegram", address="7", payload={}, dedupe_key="question", now=NOW)
        )
    )
    calls: list[str] = []
    on_its_way, lands = asyncio.Event(), asyncio.Event()

    async def slow(address: str, payload: dict[str, Any]) -> None:
        calls.append("last leader")
        on_its_way.set()
        await lands.wait()

    async def quick(address: str, payload: dict[str, Any]) -> None:
        calls.append("new leader")

    other = Database.open(db.url, schema=db.schema)
    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    first = OutboxSender(Runtime(load_settings(None), db), {"telegram": slow}, limits)
    second = OutboxSender(Runtime(load_settings(None), other), {"telegram": quick}, limits)
    leading = [asyncio.create_task(lead(first.runtime, first))]
    try:
        async with asyncio.timeout(30):
            await on_its_way.wait()
            leading.append(asyncio.create_task(lead(second.runtime, second)))
            await end_lock_connection(db)
            while not second.running:
                await asyncio.sleep(0.01)
            lands.set()
            while first.running:
                await asyncio.sleep(0.01)
            await asyncio.sleep(3.0)  # past RECOVER_AFTER
    finally:
        for task in leading:
            task.cancel()
        await asyncio.gather(*leading, return_exceptions=True)
        await other.close()
    async with db.read() as session:
        assert list(await session.scalars(select(Outbox.status))) == ["sent"]
    assert calls == ["last leader"]


async def test_a_process_that_takes_the_lead_back_sends_again(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same process, and the same sender, lead a second time once the other process has gone."""
    if db.is_sqlite:
        pytest.skip("on SQLite the lead is a flock, lost only when its process ends")
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_QUIET_HOURS", "00:00-00:00")
    sent: list[str] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append(address)

    async def queue(address: str) -> None:
        await db.write(
            lambda session: enqueue(
                session, outbox_row(channel="telegram", address=address, payload={}, dedupe_key=address, now=NOW)
            )
        )

    async def until_sent(address: str) -> None:
        while address not in sent:
            await asyncio.sleep(0.01)

    other = Database.open(db.url, schema=db.schema)
    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    first = OutboxSender(Runtime(load_settings(None), db), {"telegram": transport}, limits, poll_seconds=0.05)
    second = OutboxSender(Runtime(load_settings(None), other), {"telegram": transport}, limits, poll_seconds=0.05)
    leading = asyncio.create_task(lead(first.runtime, first))
    following = None
    try:
        async with asyncio.timeout(30):
            await queue("1")
            await until_sent("1")
            following = asyncio.create_task(lead(second.runtime, second))
            await end_lock_connection(db)
            while not second.running or first.running:
                await asyncio.sleep(0.01)
            following.cancel()  # the other process stops; this one takes the lead back
            await asyncio.gather(following, return_exceptions=True)
            while not first.running:
                await asyncio.sleep(0.01)
            await queue("2")
            await until_sent("2")
    finally:
        leading.cancel()
        await asyncio.gather(leading, return_exceptions=True)
        if following is not None:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
        await other.close()
    assert sent == ["1", "2"]
