"""The event loop `chorus run` serves on, and the tests run on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it installs (not on Windows); None for asyncio's own.

    On the answer path the event loop's own work (tasks, callbacks, sockets)
    was about a sixth of the CPU; uvloop does it in C, and an answer cost
    about a tenth less (bench/README.md, seventh round).
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
