"""The weekly summary: every subscriber gets last week's summary once, on schedule, through the outbox.

CHORUS_SUMMARY_SCHEDULE (cron on the wall clock of CHORUS_TIMEZONE, Monday
08:00 by default) names the slots. Each slot is claimed in scheduled_run in
the same transaction that queues every subscriber's message, so a restart, a
late tick or a second process never sends a week twice, and a slot missed while
Chorus was down (up to LOOKBACK) goes out at the next tick. The first slot due
is the first after the earliest subscription: a new subscriber waits for the
next summary rather than getting last week's at once.

A slot covers the last whole ISO week before its local date: answers to
anonymous surveys are kept to the week, so a summary never splits one.

    >>> london = ZoneInfo("Europe/London")
    >>> covered_week(datetime(2026, 11, 30, 8, 0, tzinfo=london), london)
    (datetime.date(2026, 11, 23), datetime.date(2026, 11, 29))

Telegram subscribers get the full summary as an HTML file with the headline
numbers as its caption; email subscribers get it as the message, in plain text
and HTML. Everything in it has been through analysis.privacy's suppression.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.summary import Summary
from bot import anonymous_release, metrics
from bot.mail import email_message
from bot.runtime import Runtime
from bot.schedule import LOOKBACK, latest_slot, slot_key
from bot.summary import HIDDEN, summary_for, to_html, to_markdown
from bot.telegram.outgoing import send_document
from storage.outbox import SUMMARY, enqueue, outbox_row
from storage.subscriptions import summary_key, wanting
from storage.waves import claim_slot, slot_ran

logger = logging.getLogger(__name__)
JOB = "weekly-summary"
CAPTION_LIMIT = 1024


def covered_week(slot: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """Monday to Sunday of the last whole ISO week before the slot's local date."""
    day = slot.astimezone(tz).date()
    end = day - timedelta(days=day.weekday() + 1)
    return end - timedelta(days=6), end


def title(summary: Summary) -> str:
    return f"What people said, {summary.start} to {summary.end}"


def headline(summary: Summary) -> str:
    """A few plain lines a commissioner reads first: how many answered each survey, or that too few did."""
    lines = [title(summary)]
    for survey in summary.surveys:
        count = HIDDEN.format(minimum=summary.minimum_group) if survey.responses is None else f"{survey.responses:,}"
        lines.append(f"• {survey.title}: {count} responses")
    if not summary.surveys:
        lines.append("No completed responses this week.")
    lines.append("The full summary, with themes and what was done, is attached.")
    text = "\n".join(lines)
    return text if len(text) <= CAPTION_LIMIT else text[: CAPTION_LIMIT - 1] + "…"


def payload(channel: str, summary: Summary) -> dict[str, Any]:
    """The outbox payload that carries one summary on one channel."""
    if channel == "email":
        return email_message(title(summary), to_markdown(summary), to_html(summary))
    filename = f"chorus-summary-{summary.start}-to-{summary.end}.html"
    return send_document(filename, to_html(summary).encode(), headline(summary))


async def send_weekly_summaries(runtime: Runtime) -> int:
    """Queue the latest due slot's summaries unless that slot has run; returns how many messages were queued."""
    settings = runtime.settings
    now = runtime.clock()
    tz = ZoneInfo(settings.timezone)
    async with runtime.db.read() as session:
        wanted = await session.run_sync(wanting)
        if not wanted:
            return 0
        since = max(now - LOOKBACK, min(subscription.created_at for subscription in wanted))
        slot = latest_slot(settings.summary_schedule, tz, since=since, now=now)
        key = slot_key(slot) if slot is not None else ""
        if slot is None or await session.run_sync(slot_ran, JOB, key):
            return 0
    await anonymous_release.release(runtime)
    async with runtime.db.read() as session:
        start, end = covered_week(slot, tz)
        summaries = {
            survey: await session.run_sync(summary_for, start, end, survey, settings.min_group_size)
            for survey in {subscription.survey for subscription in wanted}
        }
    # Rendered once per survey and channel, however many people share them.
    bodies = {(s.survey, s.channel): payload(s.channel, summaries[s.survey]) for s in wanted}
    messages = [(s.id, s.channel, s.address, bodies[s.survey, s.channel]) for s in wanted]

    def work(session: Session) -> int:
        if not claim_slot(session, JOB, key, now):
            return 0
        current = {subscription.id for subscription in wanting(session)}
        queued = 0
        for subscription_id, channel, address, body in messages:
            if subscription_id in current:
                queued += enqueue(
                    session,
                    outbox_row(
                        channel=channel,
                        address=address,
                        payload=body,
                        dedupe_key=summary_key(key, subscription_id),
                        now=now,
                        kind=SUMMARY,
                    ),
                )
        return queued

    queued = await runtime.db.write(work)
    if queued:
        metrics.QUEUED.labels("summary").inc(queued)
        logger.info("weekly summary for %s to %s (slot %s) queued for %s subscribers", start, end, key, queued)
    return queued


async def tick(runtime: Runtime, wake: Callable[[], None]) -> None:
    """The scheduler's minute for summaries: queue a due week's, and wake the sender for it."""
    if await send_weekly_summaries(runtime):
        wake()
