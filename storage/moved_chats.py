"""A Telegram group that became a supergroup has a new chat id; what Chorus holds for the old id follows it.

Telegram says so twice: in a service message to the group as it moves, and
in refusing (ChatMigrated) anything sent to the old id after. Whichever comes
first moves it; the other then finds nothing left to move.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.outbox import readdress
from storage.subscriptions import move_chat


def follow(session: Session, channel: str, old: str, new: str, now: datetime) -> tuple[int, int]:
    """The messages still waiting for `old`, and its summary subscriptions, take `new`; how many of each."""
    return readdress(session, channel, old, new), move_chat(session, channel, old, new, now)
