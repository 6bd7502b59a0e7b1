"""When outreach may happen: cron slots in the organisation's time zone, quiet hours, reminder spacing.

Pure functions of the times they are given, so every decision is tested with
a fake clock. Cron is read against the local wall clock, so a 10:00 wave
stays at 10:00 on both sides of a clock change. APScheduler 3's CronTrigger
given the zone itself fires twice in the repeated hour of October and can
step backwards there, so it is given wall-clock times labelled UTC instead,
and each wall-clock slot is turned into one instant: a repeated time is its
first occurrence, a skipped one (spring) moves on by the hour that was lost.

    >>> tz = ZoneInfo("Europe/London")
    >>> latest_slot("0 10 1 * *", tz, since=datetime(2026, 3, 1, tzinfo=UTC), now=datetime(2026, 4, 2, tzinfo=UTC))
    datetime.datetime(2026, 4, 1, 9, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from surveys.cron import crontab_trigger

if TYPE_CHECKING:  # bot.config reads QuietHours from here
    from bot.config import Settings

QUIET = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
LOOKBACK = timedelta(days=7)  # a scheduled slot missed while Chorus was down still runs if at most this late


@dataclass(frozen=True)
class QuietHours:
    """Local times between which nothing goes out, e.g. 21:00-09:00 (it may wrap midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'21:00-09:00' -> QuietHours(21:00, 09:00); raises ValueError with the expected form."""
        match = QUIET.fullmatch(text.strip())
        if not match:
            raise ValueError(f"'{text}' is not a range of times such as 21:00-09:00")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"'{text}' has a time that does not exist")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class QuietClock:
    """The local zone and its quiet hours, which invites and reminders keep to, first sends and retries alike."""

    tz: ZoneInfo
    quiet: QuietHours

    @classmethod
    def of(cls, settings: Settings) -> QuietClock:
        """From CHORUS_TIMEZONE and CHORUS_QUIET_HOURS (which the settings have already checked)."""
        return cls(ZoneInfo(settings.timezone), QuietHours.parse(settings.quiet_hours))

    def next_allowed(self, moment: datetime) -> datetime:
        return next_allowed(moment, self.tz, self.quiet)

    def is_quiet(self, moment: datetime) -> bool:
        return self.next_allowed(moment) != moment


def next_allowed(now: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """`now` if outside quiet hours, else the end of the quiet hours in local time (as UTC)."""
    local = now.astimezone(tz)
    if not quiet.contains(local.time()):
        return now
    day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=tz).astimezone(UTC)


def trigger(cron: str) -> CronTrigger:
    """A five-field cron over wall-clock times; raises ValueError naming what is wrong."""
    return crontab_trigger(cron, UTC)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=UTC)


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def latest_slot(cron: str, tz: ZoneInfo, *, since: datetime, now: datetime) -> datetime | None:
    """The last time the cron fired after `since` and at or before `now` (in UTC), or None.

    Missed slots are not made up one by one: a wave for the latest slot is enough.
    Wall-clock and real time differ by at most a day's worth of offset, so the
    walk starts and ends a day wider and keeps only the instants in range.
    """
    schedule = trigger(cron)
    latest: datetime | None = None
    end = _wall(now, tz) + timedelta(days=1)
    fire = schedule.get_next_fire_time(None, _wall(since, tz) - timedelta(days=1))
    while fire is not None and fire <= end:
        at = _instant(fire, tz)
        if since < at <= now and (latest is None or at > latest):
            latest = at
        fire = schedule.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def slot_key(slot: datetime) -> str:
    """A slot as stored in scheduled_run, e.g. '2026-04-01T09:00Z'."""
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True)
class ReminderRule:
    maximum: int
    every: timedelta


def reminder_due(
    rule: ReminderRule, *, reminders_sent: int, invited_at: datetime, last_reminded_at: datetime | None, now: datetime
) -> bool:
    """True when a non-completer may be reminded now: fewer than `maximum` so far, and `every` since the last."""
    if reminders_sent >= rule.maximum:
        return False
    return now - (last_reminded_at or invited_at) >= rule.every
