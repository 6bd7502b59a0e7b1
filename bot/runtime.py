"""The runtime: settings, database and clock, built once and passed to whatever needs them.

Nothing in Chorus reads these from globals; tests build a runtime with a fake clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.config import Settings
from bot.leader import in_use
from storage.database import Database

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    clock: Clock = utc_now
    said: set[str] = field(default_factory=set, compare=False, repr=False)

    @property
    def secret_key(self) -> str:
        return self.settings.secret_key.get_secret_value()

    def first_time(self, fault: str) -> bool:
        """Whether this process has not yet reported `fault`: one that recurs every minute is logged once."""
        if fault in self.said:
            return False
        self.said.add(fault)
        return True


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Runtime]:
    """The database, held against a restore for as long as it is open (bot/leader.py)."""
    with in_use(settings.database_url):
        db = Database.open(settings.database_url)
        try:
            yield Runtime(settings, db, clock)
        finally:
            await db.close()
