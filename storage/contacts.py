"""Contacts: the personal side of Chorus (who someone is and how to reach them), and their consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from storage.connection import core_connection
from storage.errors import NotFound
from storage.models import Consent, Contact
from storage.outbox import cancel_queued
from storage.prepared import Prepared

SEEN_PRECISION = timedelta(hours=1)
BLOCKED = "blocked the bot"  # why a contact was opted out, when they blocked the bot


@dataclass
class ContactRow:
    """A contact as one transaction reads it; `change_contact` writes a change to the row and to this copy together.

    Why not the ORM's Contact: it is read for every message anyone sends, and
    building and tracking the ORM object cost more than the rest of the read.
    """

    id: int
    channel: str
    address: str
    display_name: str | None
    language: str | None
    role: str
    organisation_id: int | None
    area_id: int | None
    service_id: int | None
    opted_out_at: datetime | None
    current_version_id: int | None
    created_at: datetime
    last_seen_at: datetime


CONTACT = Contact.metadata.tables["contact"]
# Built once: they run for every message anyone sends.
_CONTACT_FOR_UPDATE = Prepared(
    select(CONTACT)
    .where(CONTACT.c.channel == bindparam("channel"), CONTACT.c.address == bindparam("address"))
    .with_for_update()
)
_CHANGE_CONTACT = Prepared(update(CONTACT).where(CONTACT.c.id == bindparam("contact_id")))


def get_or_create_contact(
    session: Session,
    *,
    channel: str,
    address: str,
    now: datetime,
    display_name: str | None = None,
    language: str | None = None,
    role: str = "resident",
) -> ContactRow:
    """The contact for a chat id or email, created on first contact.

    `last_seen_at` (which retention counts from) moves at most hourly: a write
    per message for a time nobody needs to the second would be waste.

    The row is locked for the rest of the transaction (FOR UPDATE on PostgreSQL;
    SQLite has one writer anyway), so two workers handling the same person's
    messages take turns instead of both answering from the same state.
    """
    found = _CONTACT_FOR_UPDATE.first(session, {"channel": channel, "address": address})
    if found is None:
        values: dict[str, Any] = {
            "channel": channel,
            "address": address,
            "display_name": display_name,
            "language": language,
            "role": role,
            "organisation_id": None,
            "area_id": None,
            "service_id": None,
            "opted_out_at": None,
            "current_version_id": None,
            "created_at": now,
            "last_seen_at": now,
        }
        key = core_connection(session).execute(insert(CONTACT).values(values)).inserted_primary_key
        assert key is not None, "an INSERT of one row always has its key"
        return ContactRow(id=key[0], **values)
    contact = ContactRow(**found._asdict())
    if now - contact.last_seen_at > SEEN_PRECISION:
        change_contact(session, contact, last_seen_at=now)
    return contact


def change_contact(session: Session, contact: ContactRow, **changes: Any) -> None:
    """Write the changed fields to the contact's row, in the caller's transaction, and to `contact`."""
    changed = {name: value for name, value in changes.items() if getattr(contact, name) != value}
    if not changed:
        return
    for name, value in changed.items():
        setattr(contact, name, value)
    _CHANGE_CONTACT.execute(session, {"contact_id": contact.id, **changed})


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id} (it may have been erased)")
    return contact


def record_consent(
    session: Session,
    *,
    contact_id: int,
    version_id: int,
    question_id: str,
    language: str,
    notice: str,
    decision: str,
    now: datetime,
) -> None:
    """Keep the exact notice shown, in the language shown, with the decision and its time."""
    session.add(
        Consent(
            contact_id=contact_id,
            survey_version_id=version_id,
            question_id=question_id,
            language=language,
            notice=notice,
            decision=decision,
            recorded_at=now,
        )
    )


def opt_out_address(session: Session, channel: str, address: str, now: datetime, reason: str) -> int | None:
    """Opt out whoever has this address, when Chorus knows them; their id, or None (and no contact is made)."""
    contact_id = session.scalar(select(Contact.id).where(Contact.channel == channel, Contact.address == address))
    if contact_id is not None:
        opt_out(session, contact_id, now, reason)
    return contact_id


def opt_out(session: Session, contact_id: int, now: datetime, reason: str = "opted out") -> None:
    """No more messages to this contact, from this moment: whatever was still queued for them is cancelled."""
    contact = get_contact(session, contact_id)
    if contact.opted_out_at is None:
        contact.opted_out_at = now
    cancel_queued(session, contact.channel, [contact.address], reason)
