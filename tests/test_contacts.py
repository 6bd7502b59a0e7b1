"""A contact as the conversation reads and changes it: the row and the turn's copy stay the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.contacts import ContactRow, change_contact, get_or_create_contact
from storage.database import Database
from storage.models import Contact
from tests.conftest import NOW


async def stored(db: Database) -> Contact:
    async with db.read() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "42"))
    assert contact is not None
    return contact


def seen(at_minutes: int) -> Callable[[Session], ContactRow]:
    return lambda session: get_or_create_contact(
        session, channel="telegram", address="42", now=NOW + timedelta(minutes=at_minutes), language="pl"
    )


async def test_the_first_message_creates_the_contact_and_later_ones_find_it(db: Database) -> None:
    first = await db.write(seen(0))
    again = await db.write(seen(1))

    assert again == first
    assert (first.language, first.role, first.created_at, first.current_version_id) == ("pl", "resident", NOW, None)
    assert (await stored(db)).id == first.id


async def test_last_seen_moves_at_most_hourly(db: Database) -> None:
    await db.write(seen(0))
    within_the_hour = await db.write(seen(59))
    assert within_the_hour.last_seen_at == NOW
    assert (await stored(db)).last_seen_at == NOW

    later = await db.write(seen(61))
    assert later.last_seen_at == NOW + timedelta(minutes=61)
    assert (await stored(db)).last_seen_at == NOW + timedelta(minutes=61)


async def test_a_change_reaches_the_row_within_the_transaction_and_after_it(db: Database) -> None:
    def change(session: Session) -> tuple[ContactRow, str | None]:
        contact = get_or_create_contact(session, channel="telegram", address="42", now=NOW)
        change_contact(session, contact, language="ur", role="staff")
        orm = session.get(Contact, contact.id)
        assert orm is not None
        return contact, orm.language

    contact, seen_by_orm = await db.write(change)

    assert (contact.language, contact.role, seen_by_orm) == ("ur", "staff", "ur")
    row = await stored(db)
    assert (row.language, row.role) == ("ur", "staff")
