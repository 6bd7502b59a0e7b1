"""One-time codes that let staff join their organisation; only a hash of each code is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.contacts import ContactRow, change_contact
from storage.errors import NotFound
from storage.models import Organisation, StaffCode


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_codes(session: Session, organisation_slug: str, count: int, now: datetime, actor: str = "cli") -> list[str]:
    """New one-time codes, audited: each makes whoever redeems it staff, who then see the staff surveys."""
    organisation = session.scalar(select(Organisation).where(Organisation.slug == organisation_slug))
    if organisation is None:
        raise NotFound(
            f"no organisation '{organisation_slug}': add it with `chorus org add {organisation_slug} --name NAME`"
        )
    codes = [secrets.token_urlsafe(12) for _ in range(count)]
    session.add_all(StaffCode(code_hash=_hash(code), organisation_id=organisation.id, created_at=now) for code in codes)
    audit(session, now, actor, "staff.invite", f"organisation {organisation_slug}", codes=count)
    return codes


def redeem(session: Session, code: str, contact: ContactRow, now: datetime) -> Organisation | None:
    """Make the contact staff of the code's organisation; None for an unknown or used code."""
    found = session.scalar(
        select(StaffCode).where(StaffCode.code_hash == _hash(code), StaffCode.used_at.is_(None)).with_for_update()
    )
    if found is None:
        return None
    found.used_at = now
    change_contact(session, contact, role="staff", organisation_id=found.organisation_id)
    return session.get(Organisation, found.organisation_id)
