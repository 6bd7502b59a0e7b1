"""Standard five-field cron, read the way cron reads it.

APScheduler 3 numbers weekdays from Monday = 0, while cron (and every officer
who has written a crontab) numbers them from Sunday = 0 (or 7): given "0 8 * * 1"
as it stands, APScheduler fires on Tuesdays. The day-of-week field is therefore
turned into day names before APScheduler sees it.

    >>> day_of_week("1")
    'mon'
    >>> day_of_week("1-5")
    'mon,tue,wed,thu,fri'
    >>> day_of_week("0,6")
    'sat,sun'
    >>> day_of_week("5-7")
    'fri,sat,sun'
    >>> day_of_week("*/2")
    'tue,thu,sat,sun'
"""

from __future__ import annotations

from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONDAY_FIRST = (1, 2, 3, 4, 5, 6, 0)


def crontab_trigger(expression: str, timezone: tzinfo) -> CronTrigger:
    """A trigger for 'minute hour day month weekday'; raises ValueError naming what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), not {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week(weekday), timezone=timezone
    )


def day_of_week(field: str) -> str:
    """A cron weekday field (0 or 7 is Sunday; names, lists, ranges and steps) as APScheduler day names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        base, slash, step_text = part.partition("/")
        if (slash and not step_text.isdigit()) or step_text == "0":
            raise ValueError(f"'{part}' has a step that is not a positive whole number")
        step = int(step_text) if slash else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            start, end = base.split("-", 1)
            first, last = _day(start), _day(end)
            if last < first:
                raise ValueError(f"the weekday range '{base}' runs backwards; write it as a list, e.g. 6,0")
        else:
            first = _day(base)
            last = 6 if slash else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(NAMES[day] for day in MONDAY_FIRST if day in days)


def _day(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text[:3] in NAMES and len(text) == 3:
        return NAMES.index(text)
    raise ValueError(f"'{text}' is not a weekday (0-7, where 0 and 7 are Sunday, or sun, mon, ... sat)")
