"""The outbox: every outgoing message is a row committed with the decision that caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox
from storage.upsert import insert_once


async def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    payload: dict[str, Any],
    dedupe_key: str,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message unless one with the same dedupe key exists; True when queued by this call."""
    return await insert_once(
        session,
        Outbox,
        channel=channel,
        address=address,
        payload=payload,
        dedupe_key=dedupe_key,
        status="queued",
        attempts=0,
        not_before=not_before or now,
        created_at=now,
    )
