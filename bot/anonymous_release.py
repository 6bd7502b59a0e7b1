"""The leader's minute for anonymous surveys: release those held through a week that has now ended.

Held, not released as each finishes: see storage.models.AnonymousHeld. The
weekly summary releases them too before it reads a week, in case it runs first.
"""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from storage.responses import release_held

logger = logging.getLogger(__name__)


async def release(runtime: Runtime) -> int:
    """Release every held anonymous survey of an ended week; returns how many."""
    now = runtime.clock()
    released = len(await runtime.db.write(lambda session: release_held(session, now)))
    if released:
        logger.info("%s anonymous responses released, their week having ended", released)
    return released
