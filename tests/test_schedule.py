"""Outreach timing with a fake clock: cron in local time across clock changes, quiet hours, reminder spacing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import QuietHours, ReminderRule, latest_slot, next_allowed, reminder_due, slot_key

LONDON = ZoneInfo("Europe/London")
QUIET = QuietHours(time(21), time(9))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "since", "now", "expected"),
    [
        # 10:00 in London is 10:00 UTC in winter and 09:00 UTC in summer.
        ("0 10 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), utc(2026, 3, 29, 9)),  # clocks went forward
        ("0 10 * * *", utc(2026, 3, 27, 12), utc(2026, 3, 28, 12), utc(2026, 3, 28, 10)),  # the day before
        ("0 10 * * *", utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), utc(2026, 10, 25, 10)),  # clocks went back
        ("0 10 1 * *", utc(2026, 3, 1), utc(2026, 4, 2), utc(2026, 4, 1, 9)),
        ("0 10 1 * *", utc(2026, 4, 1, 9, 30), utc(2026, 4, 20), None),  # this month's slot already ran
        ("0 10 1 * *", utc(2026, 3, 31), utc(2026, 4, 1, 8, 59), None),  # not yet
        ("0 10 1 * *", utc(2026, 3, 31), utc(2026, 4, 1, 9), utc(2026, 4, 1, 9)),  # exactly on time
        # 01:30 does not exist on 29 March (01:00 -> 02:00); the slot is not lost but moves to 02:30 BST.
        ("30 1 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), utc(2026, 3, 29, 1, 30)),
        # 01:30 happens twice on 25 October; it fires once.
        ("30 1 * * *", utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), utc(2026, 10, 25, 0, 30)),
        ("30 1 * * *", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 45), None),  # not again an hour later
        # Every half hour: the repeated hour's slots ran the first time round; the next is 02:00 GMT.
        ("*/30 * * * *", utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 1, 50), None),
        ("*/30 * * * *", utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 2, 10), utc(2026, 10, 25, 2)),
        ("0 9 1 1,4,7,10 *", utc(2026, 9, 1), utc(2026, 12, 4), utc(2026, 10, 1, 8)),  # the staff pulse
        # Weekdays as cron numbers them (APScheduler 3 alone would read 1 as Tuesday): 30 November 2026 is a Monday.
        ("0 8 * * 1", utc(2026, 11, 26), utc(2026, 12, 1, 12), utc(2026, 11, 30, 8)),
        ("0 8 * * 0", utc(2026, 11, 26), utc(2026, 12, 1, 12), utc(2026, 11, 29, 8)),
        ("0 8 * * 7", utc(2026, 11, 26), utc(2026, 12, 1, 12), utc(2026, 11, 29, 8)),
        ("0 8 * * mon-fri", utc(2026, 11, 27, 9), utc(2026, 11, 30, 7), None),  # not at the weekend
        ("0 8 * * 1-5", utc(2026, 11, 27, 9), utc(2026, 11, 30, 9), utc(2026, 11, 30, 8)),
    ],
)
def test_the_latest_cron_slot_is_read_in_local_time(
    cron: str, since: datetime, now: datetime, expected: datetime | None
) -> None:
    assert latest_slot(cron, LONDON, since=since, now=now) == expected


def test_a_missed_week_opens_only_the_latest_slot() -> None:
    since, now = utc(2026, 11, 1), utc(2026, 11, 4, 12)
    assert latest_slot("0 10 * * *", LONDON, since=since, now=now) == utc(2026, 11, 4, 10)


def test_a_slot_has_one_key_whatever_zone_it_is_given_in() -> None:
    slot = utc(2026, 4, 1, 9)
    assert slot_key(slot) == slot_key(slot.astimezone(LONDON)) == "2026-04-01T09:00Z"


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("every monday", "a cron expression has 5 fields"),
        ("0 8 * * 8", "'8' is not a weekday"),
        ("0 8 * * 5-1", "the weekday range '5-1' runs backwards"),
        ("0 8 * * */0", "'\\*/0' has a step that is not a positive whole number"),
        ("0 25 * * 1", "the last value \\(25\\) is higher than the maximum value \\(23\\)"),
    ],
)
def test_a_wrong_cron_is_a_clear_error(cron: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        latest_slot(cron, LONDON, since=utc(2026, 1, 1), now=utc(2026, 2, 1))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 12, 4, 12), utc(2026, 12, 4, 12)),  # midday: now
        (utc(2026, 12, 4, 21, 30), utc(2026, 12, 5, 9)),  # evening: tomorrow at nine
        (utc(2026, 12, 5, 3), utc(2026, 12, 5, 9)),  # small hours: this morning at nine
        (utc(2026, 12, 5, 9), utc(2026, 12, 5, 9)),  # nine exactly is allowed
        (utc(2026, 12, 4, 20, 59), utc(2026, 12, 4, 20, 59)),
        # In summer London is UTC+1: 20:30 UTC is 21:30 local, quiet until 09:00 local = 08:00 UTC.
        (utc(2026, 7, 1, 20, 30), utc(2026, 7, 2, 8)),
        # The night the clocks go back: quiet from 21:00 BST (20:00 UTC) until 09:00 GMT (09:00 UTC).
        (utc(2026, 10, 24, 20, 30), utc(2026, 10, 25, 9)),
        # The night the clocks go forward: quiet until 09:00 BST (08:00 UTC).
        (utc(2026, 3, 28, 22), utc(2026, 3, 29, 8)),
    ],
)
def test_nothing_goes_out_in_quiet_hours(now: datetime, expected: datetime) -> None:
    assert next_allowed(now, LONDON, QUIET) == expected


def test_quiet_hours_that_do_not_wrap_midnight() -> None:
    lunch = QuietHours.parse("12:00-13:30")
    assert next_allowed(utc(2026, 12, 4, 12, 15), LONDON, lunch) == utc(2026, 12, 4, 13, 30)
    assert next_allowed(utc(2026, 12, 4, 14), LONDON, lunch) == utc(2026, 12, 4, 14)
    assert not QuietHours.parse("09:00-09:00").contains(time(9))


@pytest.mark.parametrize("text", ["21-09", "25:00-09:00", "21:00 to 09:00", ""])
def test_quiet_hours_must_look_like_a_range_of_times(text: str) -> None:
    with pytest.raises(ValueError, match=r"21:00-09:00|does not exist"):
        QuietHours.parse(text)


RULE = ReminderRule(maximum=2, every=timedelta(days=3))
INVITED = utc(2026, 12, 1, 10)


@pytest.mark.parametrize(
    ("sent", "last", "now", "due"),
    [
        (0, None, INVITED + timedelta(days=2, hours=23), False),  # too soon after the invite
        (0, None, INVITED + timedelta(days=3), True),
        (1, INVITED + timedelta(days=3), INVITED + timedelta(days=5), False),  # too soon after the first reminder
        (1, INVITED + timedelta(days=3), INVITED + timedelta(days=6), True),
        (2, INVITED + timedelta(days=6), INVITED + timedelta(days=30), False),  # no more than two
    ],
)
def test_reminders_are_spaced_and_limited(sent: int, last: datetime | None, now: datetime, due: bool) -> None:
    assert reminder_due(RULE, reminders_sent=sent, invited_at=INVITED, last_reminded_at=last, now=now) is due
