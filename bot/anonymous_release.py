"""The leader's minute for anonymous surveys: release those held once a survey has enough, or their week has ended.

Held, not released as each finishes: see storage.models.AnonymousHeld. The
weekly summary releases them too before it reads a week, in case it runs first.
"""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from storage.models import AnonymousHeld
from storage.responses import release_held

logger = logging.getLogger(__name__)


async def release(runtime: Runtime) -> int:
    """Release held anonymous surveys that are due (storage.responses.release_held); returns how many."""
    now = runtime.clock()
    enough = runtime.settings.min_group_size
    released = len(await runtime.db.write(lambda session: release_held(session, now, enough=enough)))
    if released:
        logger.info("%s anonymous responses released together", released)
        await runtime.db.empty_wal()  # the held rows, each naming its person, are gone from the log too
        await runtime.db.rewrite(AnonymousHeld.__tablename__)  # and, on PostgreSQL, from the table's pages
    return released
