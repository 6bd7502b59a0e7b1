"""Times are stored as SQLAlchemy itself would store them, in UTC, and come back aware of their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite

from storage.types import UTCDateTime

SQLITE = create_engine("sqlite://").dialect
TIMES = [
    datetime(2026, 12, 7, 9, 30, 1, 123456, tzinfo=UTC),
    datetime(2026, 12, 7, 9, 30, tzinfo=UTC),  # no microseconds: still six digits, or text comparisons would break
    datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/London")),  # the hour the clocks go forward
    datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=ZoneInfo("Europe/London")),  # the hour that comes twice
    datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(999, 1, 1, tzinfo=UTC),  # a year of three digits, padded as SQLAlchemy pads it
]


@pytest.mark.parametrize("when", TIMES, ids=str)
def test_sqlite_keeps_the_text_sqlalchemys_datetime_would_store_in_utc(when: datetime) -> None:
    """Rows written before and after must compare as times: `created_at < cutoff` compares the text."""
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    theirs = sqlite.DATETIME().bind_processor(SQLITE)
    assert ours is not None and theirs is not None
    assert ours(when) == theirs(when.astimezone(UTC).replace(tzinfo=None))
    back = UTCDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert back is not None and back(ours(when)) == when.astimezone(UTC) and back(ours(when)).tzinfo is UTC


def test_a_time_without_a_zone_is_refused() -> None:
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours is not None
    with pytest.raises(ValueError, match="timezone-aware"):
        ours(datetime(2026, 12, 7, 9, 30))
    assert ours(None) is None
