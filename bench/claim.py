"""How long the outbox sender's claim holds the event loop while a wave's invites wait through the night.

The sender claims due rows about twice a second (its poll), on the event
loop's thread on SQLite. A claim walks the queued rows in order until it has
its batch. In quiet hours invites and reminders stay queued however long they
have been due (a wave still going out at nine in the evening, one left waiting
by a service that was down), so a claim that walked past them, finding none
it may take, walked all of them on every poll until nine in the morning.

For each count: a fresh SQLite database whose outbox holds that many invites,
due and queued; the time of a claim (its statements and its commit) by day,
when it takes a batch, and in quiet hours, when it takes nothing.

Usage:
    .venv/bin/python bench/claim.py [--waiting 0 10000 100000] [--claims 21]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import NOW  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Outbox  # noqa: E402
from storage.outbox import INVITE, claim, outbox_row, recover  # noqa: E402

BATCH = 32  # half the sender's window: it claims once half is free


async def milliseconds(db: Database, claims: int, *, quiet: bool) -> list[float]:
    """Each claim's time; what a daytime claim takes is put back, so every claim finds the same queue."""
    times = []
    for _ in range(claims):
        started = time.perf_counter()
        await db.write(lambda session: claim(session, NOW, BATCH, quiet=quiet), quick=True)
        times.append((time.perf_counter() - started) * 1000)
        await db.write(recover)
    return times


async def one_count(waiting: int, claims: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(f"sqlite+aiosqlite:///{Path(folder) / 'claim.db'}")
        await upgrade(db)
        rows = [
            outbox_row(
                channel="telegram", address=str(10_000 + n), payload={}, dedupe_key=f"invite:{n}", now=NOW, kind=INVITE
            )
            for n in range(waiting)
        ]
        if rows:
            await db.write(lambda session: session.execute(insert(Outbox), rows))
        by_day = await milliseconds(db, claims, quiet=False)
        at_night = await milliseconds(db, claims, quiet=True)
        await db.close()
    return (
        f"{waiting:>7} invites waiting: a claim by day {statistics.median(by_day):.2f} ms (longest {max(by_day):.2f}),"
        f" in quiet hours {statistics.median(at_night):.2f} ms (longest {max(at_night):.2f})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[0, 10_000, 100_000])
    parser.add_argument("--claims", type=int, default=21)
    args = parser.parse_args()
    for waiting in args.waiting:
        print(await one_count(waiting, args.claims))


if __name__ == "__main__":
    asyncio.run(main())
