"""Inbound idempotency: each Telegram update or web submission is applied exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.models import InboundReceipt
from storage.upsert import insert_once


class AlreadyApplied(StorageError):
    """This inbound event was applied before; its transaction is rolled back and nothing changes."""


def claim(session: Session, key: str, now: datetime) -> None:
    """Record the event's key in the caller's transaction; raises AlreadyApplied for a repeat, e.g. "telegram:812"."""
    if not first(session, key, now):
        raise AlreadyApplied(f"inbound event {key} was already applied")


def first(session: Session, key: str, now: datetime) -> bool:
    """Record the key in the caller's transaction; True the first time, False for a repeat (nothing is rolled back)."""
    return insert_once(session, InboundReceipt, key=key, received_at=now)
