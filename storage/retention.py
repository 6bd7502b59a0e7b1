"""The retention purge, a page at a time: identifiable data past the retention period goes without holding up answers.

Run as one transaction, the purge held SQLite's only writer for as long as it
took, and every answer made meanwhile waited for it: half a second on an
ordinary day of a service's second year, and 44 seconds for the first purge
after the retention period was shortened by a year (bench/purge.py). Now each
kind of overdue row is found a page at a time on a reading connection, which
locks nothing, and each page is removed in a short write of its own that
checks every row is still overdue: a resident who came back since the page
was read is not forgotten. A purge stopped part way (a restart, a full disk)
has lost nothing: what it removed is gone, what is left is found next time.

Usage (bot/admin.py does this daily, and for `chorus db purge`):
    purged = await purge(db, Retention(secret_key, now, retention_days=730, actor="retention"))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.database import Database, Work
from storage.models import AnonymousDraft, Contact, InboundReceipt, Invitation, Outbox, Response, Wave
from storage.outbox import CANCELLED, FAILED, SENT
from storage.privacy import deidentify, drop_text, forget, rows_changed

logger = logging.getLogger(__name__)
RECEIPT_DAYS = 30  # a repeated update comes within hours; a month of receipts keeps every one applied once
FINISHED = (SENT, FAILED, CANCELLED)  # a message in none of these may still go out, however old


@dataclass(frozen=True)
class Retention:
    """One purge: the moment it counts back from, the period it keeps, and who it is audited as."""

    secret_key: str
    now: datetime
    retention_days: int
    actor: str

    @property
    def cutoff(self) -> datetime:
        """Identifiable data last touched before this goes."""
        return self.now - timedelta(days=self.retention_days)

    @property
    def receipts_cutoff(self) -> datetime:
        return self.now - timedelta(days=RECEIPT_DAYS)


@dataclass(frozen=True)
class Purged:
    contacts_forgotten: int = 0
    responses_deidentified: int = 0
    invitations_unlinked: int = 0
    drafts_deleted: int = 0
    messages_deleted: int = 0
    receipts_deleted: int = 0


Find = Callable[[Session, Retention, Any, int], list[Any]]
Remove = Callable[[Session, Retention, list[Any]], int]


@dataclass(frozen=True)
class Sweep:
    """One kind of overdue row: a page of their keys after a key, and the write that removes a page.

    `page` keeps each write to a few tens of milliseconds on a service's
    second-year database (bench/purge.py): forgetting a contact takes about
    2.5 ms (a statement for each table that holds them), so ten go in a
    write; de-identifying 500 responses, or deleting 2,000 messages or
    receipts, takes 4-12 ms.
    """

    counts: str
    find: Find
    remove: Remove
    page: int
    first: Any = 0


def stale_contacts(session: Session, retention: Retention, after: int, limit: int) -> list[int]:
    query = select(Contact.id).where(Contact.id > after, Contact.last_seen_at < retention.cutoff)
    return list(session.scalars(query.order_by(Contact.id).limit(limit)))


def forget_stale(session: Session, retention: Retention, contact_ids: list[int]) -> int:
    still = session.scalars(
        select(Contact.id).where(Contact.id.in_(contact_ids), Contact.last_seen_at < retention.cutoff)
    )
    forgotten = 0
    for contact_id in list(still):
        forget(session, contact_id, secret_key=retention.secret_key, now=retention.now, actor=retention.actor)
        forgotten += 1
    return forgotten


def identified_responses(session: Session, retention: Retention, after: str, limit: int) -> list[str]:
    query = select(Response.id).where(
        Response.id > after, Response.participant_key.is_not(None), Response.updated_at < retention.cutoff
    )
    return list(session.scalars(query.order_by(Response.id).limit(limit)))


def deidentify_old(session: Session, retention: Retention, response_ids: list[str]) -> int:
    still = session.scalars(
        select(Response.id).where(
            Response.id.in_(response_ids), Response.participant_key.is_not(None), Response.updated_at < retention.cutoff
        )
    )
    kept = list(still)
    deidentify(session, kept, drop_text)
    return len(kept)


def linked_invitations(session: Session, retention: Retention, after: int, limit: int) -> list[int]:
    query = select(Invitation.id).where(Invitation.id > after, *_stale_invitation(retention.cutoff))
    return list(session.scalars(query.order_by(Invitation.id).limit(limit)))


def unlink_invitations(session: Session, retention: Retention, invitation_ids: list[int]) -> int:
    """Who was invited, and whether they took part (all an anonymous survey keeps of them), is cut loose as
    erasure cuts it; the invitation stays, so the wave's response rate does too."""
    unlinked = (
        update(Invitation)
        .where(Invitation.id.in_(invitation_ids), *_stale_invitation(retention.cutoff))
        .values(contact_id=None, token=None)
    )
    return rows_changed(session.execute(unlinked))


def _stale_invitation(cutoff: datetime) -> list[ColumnElement[bool]]:
    """Still naming someone, and nothing has happened to it since the cutoff: invited, reminded, begun or finished."""
    latest = (Invitation.last_reminded_at, Invitation.started_at, Invitation.completed_at)
    return [
        Invitation.contact_id.is_not(None),
        Invitation.sent_at < cutoff,
        *(or_(column.is_(None), column < cutoff) for column in latest),
    ]


def _draft_done_with(retention: Retention) -> ColumnElement[bool]:
    """An anonymous survey left part way past the retention period, or in a wave since closed: unfinished, it is
    never released, and once it cannot be finished it only joins a member of staff to their answers."""
    closed = select(Wave.id).where(Wave.closed_at.is_not(None))
    return or_(AnonymousDraft.updated_at < retention.cutoff, AnonymousDraft.wave_id.in_(closed))


def old_drafts(session: Session, retention: Retention, after: int, limit: int) -> list[int]:
    query = select(AnonymousDraft.id).where(AnonymousDraft.id > after, _draft_done_with(retention))
    return list(session.scalars(query.order_by(AnonymousDraft.id).limit(limit)))


def delete_drafts(session: Session, retention: Retention, draft_ids: list[int]) -> int:
    gone = delete(AnonymousDraft).where(AnonymousDraft.id.in_(draft_ids), _draft_done_with(retention))
    return rows_changed(session.execute(gone))


def finished_messages(session: Session, retention: Retention, after: int, limit: int) -> list[int]:
    """Finished messages created before the cutoff: in the order of their ids, which is the order they were made,
    so the walk reads the oldest first and never the rest of the table's index."""
    query = select(Outbox.id).where(
        Outbox.id > after, Outbox.status.in_(FINISHED), Outbox.created_at < retention.cutoff
    )
    return list(session.scalars(query.order_by(Outbox.id).limit(limit)))


def delete_messages(session: Session, retention: Retention, message_ids: list[int]) -> int:
    gone = delete(Outbox).where(
        Outbox.id.in_(message_ids), Outbox.status.in_(FINISHED), Outbox.created_at < retention.cutoff
    )
    return rows_changed(session.execute(gone))


def old_receipts(session: Session, retention: Retention, _after: str, limit: int) -> list[str]:
    """The oldest receipts, through their index of times. Each page is deleted before the next is looked for, so
    this needs no key to go on from: a walk in key order would read every receipt to find the old ones."""
    query = select(InboundReceipt.key).where(InboundReceipt.received_at < retention.receipts_cutoff)
    return list(session.scalars(query.order_by(InboundReceipt.received_at).limit(limit)))


def delete_receipts(session: Session, retention: Retention, keys: list[str]) -> int:
    gone = delete(InboundReceipt).where(
        InboundReceipt.key.in_(keys), InboundReceipt.received_at < retention.receipts_cutoff
    )
    return rows_changed(session.execute(gone))


SWEEPS = (
    Sweep("contacts_forgotten", stale_contacts, forget_stale, page=10),
    Sweep("responses_deidentified", identified_responses, deidentify_old, page=500, first=""),
    Sweep("invitations_unlinked", linked_invitations, unlink_invitations, page=1000),
    Sweep("drafts_deleted", old_drafts, delete_drafts, page=1000),
    Sweep("messages_deleted", finished_messages, delete_messages, page=2000),
    Sweep("receipts_deleted", old_receipts, delete_receipts, page=2000, first=""),
)


async def purge(db: Database, retention: Retention) -> Purged:
    """Remove identifiable data older than the retention period, a page per write; audited with what went,
    even when the purge stops part way."""
    removed: dict[str, int] = {}
    try:
        for sweep in SWEEPS:
            removed[sweep.counts] = await _swept(db, retention, sweep)
    except Exception:
        await _audited(db, retention, Purged(**removed), stopped_early=True)
        raise
    purged = Purged(**removed)
    await _audited(db, retention, purged)
    await db.empty_wal()  # what went today, and the words of every message sent since yesterday, leave the files
    return purged


async def _swept(db: Database, retention: Retention, sweep: Sweep) -> int:
    """Remove the sweep's rows page by page; a page found twice (its rows were not removed) ends it, until tomorrow,
    rather than have the purge find it forever."""
    removed, after = 0, sweep.first
    while (page := await db.fetch(_finding(sweep, retention, after))) and page[-1] != after:
        removed += await db.write(_removing(sweep, retention, page))
        after = page[-1]
    return removed


def _finding(sweep: Sweep, retention: Retention, after: Any) -> Work[list[Any]]:
    return lambda session: sweep.find(session, retention, after, sweep.page)


def _removing(sweep: Sweep, retention: Retention, page: list[Any]) -> Work[int]:
    return lambda session: sweep.remove(session, retention, page)


async def _audited(db: Database, retention: Retention, purged: Purged, stopped_early: bool = False) -> None:
    """The purge's entry in the audit log; a purge that stopped part way says so, and what it had removed by then."""
    subject = f"older than {retention.cutoff.date().isoformat()}"
    detail = asdict(purged) | ({"stopped_early": True} if stopped_early else {})

    def write(session: Session) -> None:
        audit(session, retention.now, retention.actor, "db.purge", subject, **detail)

    try:
        await db.write(write)
    except Exception:
        if not stopped_early:
            raise
        logger.exception("retention purge: could not record in the audit log what it removed before it stopped")
