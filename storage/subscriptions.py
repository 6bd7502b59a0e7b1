"""Who gets the weekly summary: each subscription is one address on one channel, for one survey or all.

An address is an officer's or commissioner's own (an email, a Telegram chat),
so adding and removing one is audited like any other personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.errors import NotFound
from storage.models import Contact, Outbox, SummarySubscription
from storage.models import Survey as SurveyRow
from storage.outbox import CANCELLED, QUEUED, SUMMARY, status_is
from storage.privacy import rows_changed

ENDED = "the subscription ended"  # why a summary still queued was not sent (the outbox row's last_error)


def summary_key(slot: str, subscription_id: int) -> str:
    """The dedupe key of one subscription's summary for one slot: each is queued once."""
    return f"summary:{slot}:{subscription_id}"


def subscribe(session: Session, channel: str, address: str, survey: str | None, now: datetime) -> SummarySubscription:
    """Add a subscription, or return the same one if it exists; an unknown survey raises NotFound."""
    if survey is not None and session.scalar(select(SurveyRow.id).where(SurveyRow.slug == survey)) is None:
        raise NotFound(f"no survey called '{survey}': `chorus survey list` shows them")
    existing = session.scalar(
        select(SummarySubscription).where(
            SummarySubscription.channel == channel,
            SummarySubscription.address == address,
            _for_survey(survey),
        )
    )
    if existing is not None:
        return existing
    subscription = SummarySubscription(channel=channel, address=address, survey=survey, created_at=now)
    session.add(subscription)
    session.flush()
    audit(session, now, "cli", "subscription.add", f"subscription {subscription.id}", channel=channel, survey=survey)
    return subscription


def unsubscribe(session: Session, subscription_id: int, now: datetime) -> None:
    """End a subscription, and cancel its summary if one still waits to go (Telegram was down, say)."""
    subscription = session.get(SummarySubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id}; `chorus subscribers list` shows them")
    session.delete(subscription)
    cancelled = session.execute(
        update(Outbox)
        .where(
            Outbox.kind == SUMMARY,
            status_is(Outbox.status, QUEUED),
            Outbox.dedupe_key.like(summary_key("%", subscription_id)),
        )
        .values(status=CANCELLED, last_error=ENDED)
    )
    audit(
        session,
        now,
        "cli",
        "subscription.remove",
        f"subscription {subscription_id}",
        summaries_cancelled=rows_changed(cancelled),
    )


def end_for_address(session: Session, channel: str, address: str, now: datetime) -> int:
    """End every subscription of a chat Telegram no longer lets the bot write to; how many ended."""
    ended = list(
        session.scalars(
            select(SummarySubscription).where(
                SummarySubscription.channel == channel, SummarySubscription.address == address
            )
        )
    )
    for subscription in ended:
        session.delete(subscription)
        audit(session, now, channel, "subscription.remove", f"subscription {subscription.id}", why="unreachable")
    return len(ended)


def subscriptions(session: Session) -> list[SummarySubscription]:
    return list(session.scalars(select(SummarySubscription).order_by(SummarySubscription.id)))


def wanting(session: Session) -> list[SummarySubscription]:
    """The subscriptions a summary goes to now: not those of a chat whose person sent the bot /stop.

    /stop promises no more messages, and a commissioner's own chat with the bot
    is no exception; /start brings their summaries back with the rest.
    """
    stopped = (
        select(Contact.id)
        .where(
            Contact.channel == SummarySubscription.channel,
            Contact.address == SummarySubscription.address,
            Contact.opted_out_at.is_not(None),
        )
        .exists()
    )
    return list(session.scalars(select(SummarySubscription).where(~stopped).order_by(SummarySubscription.id)))


def move_chat(session: Session, channel: str, old: str, new: str, now: datetime) -> int:
    """A group chat that became a supergroup has a new id: its subscriptions follow it; how many moved.

    One that the new chat already has for the same survey is dropped, so it
    does not get each summary twice.
    """
    moved = 0
    for subscription in session.scalars(
        select(SummarySubscription).where(SummarySubscription.channel == channel, SummarySubscription.address == old)
    ):
        twin = session.scalar(
            select(SummarySubscription.id).where(
                SummarySubscription.channel == channel,
                SummarySubscription.address == new,
                _for_survey(subscription.survey),
            )
        )
        if twin is None:
            subscription.address = new
        else:
            session.delete(subscription)
        audit(session, now, "telegram", "subscription.move", f"subscription {subscription.id}", to_chat=new)
        moved += 1
    return moved


def _for_survey(survey: str | None) -> ColumnElement[bool]:
    """Subscriptions to this survey, or (None) to every survey."""
    return SummarySubscription.survey.is_(None) if survey is None else SummarySubscription.survey == survey
