"""Idempotency keys and the outbox: a redelivered event changes nothing; a message is queued once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.inbound import AlreadyApplied, claim
from storage.models import Contact, Outbox
from storage.outbox import enqueue, outbox_row
from tests.conftest import NOW


async def test_an_event_is_applied_once_and_its_replay_changes_nothing(db: Database) -> None:
    def handle(session: Any, address: str) -> None:
        claim(session, "telegram:1001", NOW)
        get_or_create_contact(session, channel="telegram", address=address, now=NOW)

    await db.write(lambda s: handle(s, "first"))
    with pytest.raises(AlreadyApplied, match="telegram:1001"):
        await db.write(lambda s: handle(s, "replayed"))
    async with db.read() as session:
        addresses = list(await session.scalars(select(Contact.address)))
    assert addresses == ["first"]


async def test_a_message_with_the_same_dedupe_key_is_queued_once(db: Database) -> None:
    def queue(session: Any) -> list[bool]:
        return [
            enqueue(
                session,
                outbox_row(channel="telegram", address="1", payload={"text": "hi"}, dedupe_key="invite:7", now=NOW),
            )
            for _ in range(3)
        ]

    assert await db.write(queue) == [True, False, False]
    async with db.read() as session:
        rows = (await session.scalars(select(Outbox))).all()
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 1
    assert (rows[0].status, rows[0].not_before, rows[0].payload) == ("queued", NOW, {"text": "hi"})
