"""The outbox: every outgoing message is a row committed with the decision that caused it.

One sender drains it. It claims due rows (status `sending`, committed before
anything goes out), sends them, then settles them: `sent`, back to `queued` for
a later retry, `failed` for good, or `cancelled` when the person opted out.
A row marked sent is never claimed again, so after a crash only the rows that
were `sending` at that moment can go out twice: `recover` puts them back.

A person's messages go out in the order they were queued: a row is not claimed
while an earlier row to the same address waits for a retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session

from storage.connection import core_connection
from storage.models import Outbox
from storage.upsert import insert_many_once, insert_once

QUEUED, SENDING, SENT, FAILED, CANCELLED = "queued", "sending", "sent", "failed", "cancelled"
ERASURE = "erasure"


def outbox_row(
    *,
    channel: str,
    address: str,
    payload: dict[str, Any],
    dedupe_key: str,
    now: datetime,
    not_before: datetime | None = None,
    kind: str = "reply",
    invitation_id: int | None = None,
) -> dict[str, Any]:
    """A message to queue: the outbox row's values."""
    return {
        "channel": channel,
        "address": address,
        "kind": kind,
        "invitation_id": invitation_id,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "status": QUEUED,
        "attempts": 0,
        "not_before": not_before or now,
        "created_at": now,
    }


def enqueue(session: Session, row: dict[str, Any]) -> bool:
    """Queue a message (an outbox_row) unless one with the same dedupe key exists; True when queued by this call."""
    return insert_once(session, Outbox, **row)


def enqueue_many(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Queue messages (outbox_rows: an update's replies, a wave's invites) a batch per statement, skipping dedupe keys queued already."""
    insert_many_once(session, Outbox, rows)


@dataclass(frozen=True)
class Message:
    """A claimed row, as the sender needs it."""

    id: int
    channel: str
    address: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    invitation_id: int | None = None


# The sender claims and settles a batch many times a second: its statements are built once.
# With an index on (status, not_before) SQLite sorted every due row by id on each claim
# (8 ms with 10,000 queued, on the event loop's thread); walking ix_outbox_claim in id
# order stops at the batch (0.2 ms), and ix_outbox_order answers the check per row.
OUTBOX = Outbox.metadata.tables["outbox"]
_EARLIER = OUTBOX.alias("earlier")
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_DUE = (
    select(
        OUTBOX.c.id,
        OUTBOX.c.channel,
        OUTBOX.c.address,
        OUTBOX.c.kind,
        OUTBOX.c.payload,
        OUTBOX.c.attempts,
        OUTBOX.c.invitation_id,
    )
    .where(
        OUTBOX.c.status == QUEUED,
        OUTBOX.c.not_before <= bindparam("now"),
        ~exists().where(
            _EARLIER.c.channel == OUTBOX.c.channel,
            _EARLIER.c.address == OUTBOX.c.address,
            _EARLIER.c.status == QUEUED,
            _EARLIER.c.id < OUTBOX.c.id,
            _EARLIER.c.not_before > bindparam("now"),
        ),
    )
    .order_by(OUTBOX.c.id)
    .limit(bindparam("limit"))
)
_DUE_SKIPPING_LOCKED = _DUE.with_for_update(skip_locked=True, of=OUTBOX)
_TAKE = update(OUTBOX).where(OUTBOX.c.id.in_(_IDS)).values(status=SENDING, attempts=OUTBOX.c.attempts + 1)
_TAKE_ERASURES = delete(OUTBOX).where(OUTBOX.c.id.in_(_IDS))
_SETTLE_MANY = update(OUTBOX).where(OUTBOX.c.id.in_(_IDS), OUTBOX.c.status == SENDING)
_SETTLE_ONE = update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.status == SENDING)


def claim(session: Session, now: datetime, limit: int) -> list[Message]:
    """Take up to `limit` due rows, oldest first, and mark them sending; erasure confirmations are deleted as taken."""
    connection = core_connection(session)
    query = _DUE_SKIPPING_LOCKED if connection.dialect.name == "postgresql" else _DUE
    rows = (connection.execute(query, {"now": now, "limit": limit})).all()
    if not rows:
        return []
    taken = [Message(r.id, r.channel, r.address, r.kind, r.payload, r.attempts + 1, r.invitation_id) for r in rows]
    erasures = [m.id for m in taken if m.kind == ERASURE]
    others = [m.id for m in taken if m.kind != ERASURE]
    if erasures:
        connection.execute(_TAKE_ERASURES, {"ids": erasures})
    if others:
        connection.execute(_TAKE, {"ids": others})
    return taken


@dataclass
class Settlement:
    """What became of a batch of claimed rows, written back in one transaction."""

    sent: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    retries: list[tuple[int, datetime, str]] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent) + len(self.released) + len(self.retries) + len(self.failures)


def settle(session: Session, now: datetime, settlement: Settlement) -> None:
    """Record outcomes. A sent row keeps no payload: what was said to a person is not kept once it has gone."""
    connection = core_connection(session)
    if settlement.sent:
        sent = {"status": SENT, "sent_at": now, "payload": {}, "last_error": None}
        connection.execute(_SETTLE_MANY, {"ids": settlement.sent, **sent})
    if settlement.released:
        connection.execute(_SETTLE_MANY, {"ids": settlement.released, "status": QUEUED})
    for row_id, not_before, error in settlement.retries:
        retry = {"status": QUEUED, "not_before": not_before, "last_error": error[:500]}
        connection.execute(_SETTLE_ONE, {"row_id": row_id, **retry})
    for row_id, error in settlement.failures:
        connection.execute(_SETTLE_ONE, {"row_id": row_id, "status": FAILED, "last_error": error})


def recover(session: Session) -> int:
    """Put back rows a previous sender claimed but never settled (it crashed or lost the lead); returns how many."""
    result = session.execute(update(Outbox).where(Outbox.status == SENDING).values(status=QUEUED))
    return int(getattr(result, "rowcount", 0) or 0)


def cancel_queued(session: Session, channel: str, addresses: Iterable[str], reason: str) -> int:
    """Cancel everything still waiting to go to these addresses (an opt-out is honoured at once)."""
    result = session.execute(
        update(Outbox)
        .where(Outbox.channel == channel, Outbox.address.in_(list(addresses)), Outbox.status == QUEUED)
        .values(status=CANCELLED, last_error=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    sent_last_minute: int
    oldest_queued: datetime | None

    @property
    def rate(self) -> float:
        """Messages sent per second over the last minute."""
        return self.sent_last_minute / 60


def outbox_status(session: Session, now: datetime) -> OutboxStatus:
    counts = {status: 0 for status in (QUEUED, SENDING, SENT, FAILED, CANCELLED)}
    for status, count in session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)):
        counts[status] = int(count)
    recent = session.scalar(
        select(func.count()).select_from(Outbox).where(Outbox.sent_at >= now - timedelta(minutes=1))
    )
    oldest = session.scalar(
        select(Outbox.created_at).where(Outbox.status == QUEUED).order_by(Outbox.created_at).limit(1)
    )
    return OutboxStatus(counts, int(recent or 0), oldest)
