"""How long opening a large wave holds the event loop that also serves residents' webhooks.

On SQLite a wave is written on the writer's own thread (quick writes, such
as an answer, run on the event loop's), so the loop only waits for Python's
lock between the two threads. This opens one TSM wave for N consented
residents in this process, as `chorus run`'s scheduler does (after
gc.freeze(), as `chorus run` starts), while a ticker that wakes every 5 ms
records the longest time it could not run.

Usage:
    .venv/bin/python bench/wave_open.py [--residents 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import admin, outreach  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.waves import Audience  # noqa: E402
from surveys.templates import template_paths  # noqa: E402
from tests.conftest import SECRET  # noqa: E402
from tests.test_outreach_telegram import residents  # noqa: E402


async def open_one(count: int, folder: Path) -> tuple[int, float, float]:
    """Invited, seconds to open the wave, longest seconds the loop was held."""
    os.environ["CHORUS_SECRET_KEY"] = SECRET
    os.environ["CHORUS_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'wave.db'}"
    settings = load_settings(None)
    await admin.upgrade_database(settings)
    await admin.import_surveys(settings, template_paths())
    db = Database.open(settings.database_url)
    try:
        await residents(db, range(100_000, 100_000 + count))
        gc.collect()
        gc.freeze()
        longest = 0.0

        async def ticker() -> None:
            nonlocal longest
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                longest = max(longest, now - last - 0.005)
                last = now

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        began = time.perf_counter()
        opened = await outreach.open_wave(Runtime(settings, db), "tsm", Audience())
        took = time.perf_counter() - began
        ticking.cancel()
        assert opened is not None
        return opened.invited, took, longest
    finally:
        await db.close()
        gc.unfreeze()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            invited, took, longest = await open_one(args.residents, Path(folder))
        print(f"invited {invited} in {took:.2f} s; the loop was held at most {longest * 1000:.0f} ms at a time")


if __name__ == "__main__":
    asyncio.run(main())
