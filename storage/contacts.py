"""Contacts: the personal side of Chorus (who someone is and how to reach them), and their consent."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.errors import NotFound
from storage.models import Consent, Contact
from storage.outbox import cancel_queued

SEEN_PRECISION = timedelta(hours=1)


CONTACT_FOR_UPDATE = (
    select(Contact)
    .where(Contact.channel == bindparam("channel"), Contact.address == bindparam("address"))
    .with_for_update()
)  # built once: it runs for every message anyone sends


def get_or_create_contact(
    session: Session,
    *,
    channel: str,
    address: str,
    now: datetime,
    display_name: str | None = None,
    language: str | None = None,
    role: str = "resident",
) -> Contact:
    """The contact for a chat id or email, created on first contact.

    `last_seen_at` (which retention counts from) moves at most hourly: a write
    per message for a time nobody needs to the second would be waste.

    The row is locked for the rest of the transaction (FOR UPDATE on PostgreSQL;
    SQLite has one writer anyway), so two workers handling the same person's
    messages take turns instead of both answering from the same state.
    """
    contact = session.scalar(CONTACT_FOR_UPDATE, {"channel": channel, "address": address})
    if contact is None:
        contact = Contact(
            channel=channel,
            address=address,
            display_name=display_name,
            language=language,
            role=role,
            created_at=now,
            last_seen_at=now,
        )
        session.add(contact)
        session.flush()
    elif now - contact.last_seen_at > SEEN_PRECISION:
        contact.last_seen_at = now
    return contact


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


def opt_out(session: Session, contact_id: int, now: datetime, reason: str = "opted out") -> None:
    """No more messages to this contact, from this moment: whatever was still queued for them is cancelled."""
    contact = get_contact(session, contact_id)
    if contact.opted_out_at is None:
        contact.opted_out_at = now
    cancel_queued(session, contact.channel, [contact.address], reason)
