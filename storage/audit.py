"""The audit log: every privacy operation leaves an entry, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEntry


def audit(session: Session, now: datetime, actor: str, action: str, subject: str, **detail: Any) -> None:
    """e.g. audit(session, now, "cli", "contact.forget", "contact 42", responses_deleted=3)."""
    session.add(AuditEntry(at=now, actor=actor, action=action, subject=subject, detail=detail))
