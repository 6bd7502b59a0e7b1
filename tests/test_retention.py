"""The retention purge: what is past the retention period goes, what is not stays, and answers go on meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from storage import retention
from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.models import AuditEntry, Contact, InboundReceipt, Invitation, Outbox, Response, Wave
from storage.outbox import Message, Settlement, claim, enqueue, outbox_row, settle
from storage.retention import Retention, forget_stale, stale_contacts
from tests.conftest import NOW, SECRET, on_disk
from tests.test_privacy import ADDRESS, NAME, RESIDENTS, dump, populate

LATER = NOW + timedelta(days=731)


def policy(now: datetime = LATER) -> Retention:
    return Retention(SECRET, now, retention_days=730, actor="test")


async def test_purge_removes_identifiable_data_past_retention(db: Database) -> None:
    made = await populate(db)
    result = await retention.purge(db, policy())
    assert result.contacts_forgotten == 2
    after = await dump(db)
    assert ADDRESS not in after and made["key"] not in after
    async with db.read() as session:
        assert await session.get(Response, made["anonymous"]) is not None


async def test_purge_leaves_nothing_of_those_it_forgot_in_the_database_files(db: Database) -> None:
    """Deleted rows stay readable in SQLite's write-ahead log until it is emptied, which a running service,
    never closing its last connection, would otherwise not do."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's dead rows are VACUUM's to remove")
    await populate(db)
    assert NAME.encode() in on_disk(db.url)
    await retention.purge(db, policy())
    assert NAME.encode() not in on_disk(db.url)


async def test_the_words_of_a_message_sent_today_are_gone_from_the_database_files_after_the_nights_purge(
    db: Database,
) -> None:
    """A message's words are kept only until it has been sent; in SQLite's write-ahead log they stayed as long as
    the service ran, though the purge that night had nothing to remove."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's dead rows are VACUUM's to remove")
    words = {"method": "sendMessage", "text": "Your repair at 9 Pollard Street is booked"}

    def send(session: Any) -> list[Message]:
        enqueue(session, outbox_row(channel="telegram", address="5", payload=words, dedupe_key="booked", now=NOW))
        return claim(session, NOW, 10)

    [message] = await db.write(send)
    await db.write(lambda s: settle(s, NOW, Settlement(sent=[message.id])))
    assert b"Pollard Street" in on_disk(db.url)
    result = await retention.purge(db, policy(NOW))
    assert result == retention.Purged(), "nothing was old enough to remove"
    assert b"Pollard Street" not in on_disk(db.url)


async def test_purge_keeps_recent_data(db: Database) -> None:
    made = await populate(db)
    result = await retention.purge(db, policy(NOW + timedelta(days=10)))
    assert (result.contacts_forgotten, result.responses_deidentified) == (0, 0)
    assert made["key"] in await dump(db)


async def test_old_messages_go_whatever_became_of_them_unless_they_may_still_go(db: Database) -> None:
    """A cancelled invite holds the chat it was for as much as a sent one does; a queued one may still go out."""
    statuses = ("queued", "sending", "sent", "failed", "cancelled")

    def queue(session: Any) -> None:
        for status in statuses:
            enqueue(session, outbox_row(channel="telegram", address="5", payload={}, dedupe_key=status, now=NOW))
            session.execute(update(Outbox).where(Outbox.dedupe_key == status).values(status=status))

    await db.write(queue)
    result = await retention.purge(db, policy())
    async with db.read() as session:
        left = set(await session.scalars(select(Outbox.status)))
    assert left == {"queued", "sending"}
    assert result.messages_deleted == 3


async def test_an_invitation_idle_past_retention_no_longer_names_who_it_was_for(db: Database) -> None:
    """Even for someone still taking part: it says they were asked, and whether they answered, an anonymous survey."""

    def invited(session: Any) -> dict[str, int]:
        version_id = import_survey(session, RESIDENTS, NOW).version_id
        contact = get_or_create_contact(session, channel="telegram", address=ADDRESS, now=LATER - timedelta(days=1))
        invitations = {}
        for name, reminded in (("long ago", None), ("reminded lately", LATER - timedelta(days=10))):
            wave = Wave(survey_version_id=version_id, name=name, audience={}, opened_at=NOW)
            session.add(wave)
            session.flush()
            invitation = Invitation(
                wave_id=wave.id, contact_id=contact.id, token=name, sent_at=NOW, last_reminded_at=reminded
            )
            session.add(invitation)
            session.flush()
            invitations[name] = invitation.id
        return invitations

    made = await db.write(invited)
    result = await retention.purge(db, policy())

    async with db.read() as session:
        old, recent = [await session.get(Invitation, made[name]) for name in ("long ago", "reminded lately")]
    assert old is not None and (old.contact_id, old.token) == (None, None), "the invitation stays, for the wave's rate"
    assert recent is not None and recent.contact_id is not None and recent.token == "reminded lately"
    assert (result.invitations_unlinked, result.contacts_forgotten) == (1, 0)


async def test_a_contact_seen_again_after_the_purge_found_them_is_kept(db: Database) -> None:
    made = await populate(db)
    page = await db.fetch(lambda session: stale_contacts(session, policy(), 0, 10))
    assert made["contact"] in page

    await db.write(
        lambda session: session.execute(
            update(Contact).where(Contact.id == made["contact"]).values(last_seen_at=LATER - timedelta(hours=1))
        )
    )
    forgotten = await db.write(lambda session: forget_stale(session, policy(), page))

    assert forgotten == len(page) - 1
    assert ADDRESS in await dump(db)


async def test_answers_are_written_while_a_long_purge_goes_on(db: Database) -> None:
    """Each page of overdue rows goes in a write of its own, so an answer waits for a page, not the whole purge:
    answers made meanwhile are written while the purge is part way through the old receipts."""
    old = [{"key": f"telegram:old:{number}", "received_at": NOW} for number in range(5_000)]
    await db.write(lambda session: session.execute(insert(InboundReceipt), old))

    def answer(session: Any, number: int) -> int:
        """An answer's receipt; how many old receipts are left as it is written."""
        session.add(InboundReceipt(key=f"telegram:new:{number}", received_at=LATER))
        left = select(func.count()).where(InboundReceipt.key.like("telegram:old:%"))
        return int(session.scalar(left) or 0)

    purging = asyncio.create_task(retention.purge(db, policy()))
    seen: list[int] = []
    while not purging.done():
        seen.append(await db.write(partial(answer, number=len(seen)), quick=True))

    assert (await purging).receipts_deleted == 5_000
    assert any(0 < left < 5_000 for left in seen), seen
    async with db.read() as session:
        kept = list(await session.scalars(select(InboundReceipt.key)))
    assert sorted(kept) == sorted(f"telegram:new:{number}" for number in range(len(seen)))


async def test_a_page_that_cannot_be_removed_ends_its_sweep_rather_than_the_purge_running_forever(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.write(lambda session: session.add(InboundReceipt(key="telegram:old", received_at=NOW)))

    def removes_nothing(*_args: Any) -> int:
        return 0

    stuck = tuple(
        dataclasses.replace(sweep, remove=removes_nothing) if sweep.counts == "receipts_deleted" else sweep
        for sweep in retention.SWEEPS
    )
    monkeypatch.setattr(retention, "SWEEPS", stuck)
    result = await asyncio.wait_for(retention.purge(db, policy()), timeout=30)
    assert result.receipts_deleted == 0


async def test_a_purge_that_stops_part_way_says_what_it_removed_and_the_next_one_finishes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await populate(db)

    def sent_long_ago(session: Any) -> None:
        enqueue(session, outbox_row(channel="telegram", address="5", payload={}, dedupe_key="old", now=NOW))
        session.execute(update(Outbox).values(status="sent"))

    await db.write(sent_long_ago)

    def disk_full(*_args: Any) -> int:
        raise OSError("database or disk is full")

    broken = tuple(
        dataclasses.replace(sweep, remove=disk_full) if sweep.counts == "messages_deleted" else sweep
        for sweep in retention.SWEEPS
    )
    monkeypatch.setattr(retention, "SWEEPS", broken)
    with pytest.raises(OSError, match="disk is full"):
        await retention.purge(db, policy())
    monkeypatch.undo()
    finished = await retention.purge(db, policy())

    async with db.read() as session:
        purges = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "db.purge").order_by(AuditEntry.id))
        )
    stopped, done = (entry.detail for entry in purges)
    assert stopped == {
        "contacts_forgotten": 2,
        "responses_deidentified": 0,
        "invitations_unlinked": 0,
        "drafts_deleted": 0,
        "messages_deleted": 0,
        "receipts_deleted": 0,
        "stopped_early": True,
    }
    assert done == dataclasses.asdict(finished)
    assert (finished.contacts_forgotten, finished.messages_deleted) == (0, 1), "the first purge's forgetting stood"
