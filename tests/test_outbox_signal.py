"""Another process's queued message wakes the leader's sender at once (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio

import pytest

from bot.outbox_signal import announce, listening
from storage.database import Database


async def test_an_announcement_from_another_connection_wakes_the_listener(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("one process on SQLite: its sender is woken directly")
    follower = Database.open(db.url, schema=db.schema)
    woken = asyncio.Event()
    try:
        async with listening(db, woken.set):
            await announce(follower)
            await asyncio.wait_for(woken.wait(), 10)
        woken.clear()
        await announce(follower)
        await asyncio.sleep(0.2)
        assert not woken.is_set(), "no longer listening once the lead is given up"
    finally:
        await follower.close()


async def test_another_schema_is_another_channel(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("one process on SQLite: its sender is woken directly")
    other = Database.open(db.url, schema="someone_else")
    woken = asyncio.Event()
    try:
        async with listening(db, woken.set):
            await announce(other)
            await asyncio.sleep(0.5)
        assert not woken.is_set()
    finally:
        await other.close()
