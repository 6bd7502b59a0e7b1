"""How long the daily retention purge holds SQLite's one writer on a database of a service's second year.

Every write waits while another holds the writer, so an answer that comes
during the purge waits for it. This fills a database as two years of service
would leave it (residents, finished responses with their answers, the outbox's
sent messages, a month of update receipts), their times spread evenly so that
`--overdue-days` days' worth lies past the retention period: 1 is the purge
of any ordinary day, more is a service's first purge after its retention
period was shortened. Then it runs the purge as `chorus run` does each night
and, while it runs, makes a small write every 10 ms (an update's receipt, the
first thing an answer writes); it reports how long the purge took and the
longest such write waited for the writer.

Usage:
    .venv/bin/python bench/purge.py [--residents 50000] [--responses 100000] [--messages 2000000] [--overdue-days 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import NOW, RETENTION, History, write_history  # noqa: E402
from bench.turn import prepared  # noqa: E402
from bot import admin  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from storage.database import Work  # noqa: E402
from storage.models import InboundReceipt  # noqa: E402
from storage.retention import RECEIPT_DAYS  # noqa: E402

T = TypeVar("T")


def fill(runtime: Runtime, residents: int, responses: int, messages: int, overdue: int, per_day: int) -> None:
    """A second year's rows, with `overdue` days' worth past the retention period."""
    late = timedelta(days=overdue)
    past = History(
        residents=residents,
        responses=responses,
        messages=messages,
        receipts=per_day * (RECEIPT_DAYS + overdue),
        span=RETENTION + late,
        receipts_span=timedelta(days=RECEIPT_DAYS) + late,
    )
    write_history(runtime, past)


def receipt(number: int) -> Work[None]:
    """An update's receipt, the first thing an answer writes."""
    key = f"telegram:during:{number}"
    return lambda session: session.add(InboundReceipt(key=key, received_at=NOW))


async def beside_answers(
    runtime: Runtime, job: Coroutine[Any, Any, T], write: Callable[[int], Work[None]] = receipt
) -> tuple[float, float, int, T]:
    """The job's seconds, the longest wait of a small write (`write` of its number) made every 10 ms meanwhile, how
    many were made, and the job's result."""
    waits: list[float] = []
    started = time.perf_counter()
    running = asyncio.create_task(job)
    number = 0
    while not running.done():
        await asyncio.sleep(0.01)
        number += 1
        asked = time.perf_counter()
        await runtime.db.write(write(number), quick=True)
        waits.append(time.perf_counter() - asked)
    result = await running
    return time.perf_counter() - started, max(waits, default=0.0), len(waits), result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--responses", type=int, default=100_000, help="finished responses, twenty answers each")
    parser.add_argument("--messages", type=int, default=2_000_000, help="sent messages in the outbox")
    parser.add_argument("--receipts-per-day", type=int, default=3_000)
    parser.add_argument("--overdue-days", type=int, default=1, help="days' worth of rows past the retention period")
    args = parser.parse_args()
    os.environ["CHORUS_RETENTION_DAYS"] = str(RETENTION.days)
    with tempfile.TemporaryDirectory() as folder:
        runtime = await prepared(Path(folder))
        filling = time.perf_counter()
        fill(runtime, args.residents, args.responses, args.messages, args.overdue_days, args.receipts_per_day)
        print(
            f"filled in {time.perf_counter() - filling:.0f} s; database {os.path.getsize(Path(folder) / 'turn.db') / 1e6:.0f} MB"
        )
        seconds, longest, writes, result = await beside_answers(runtime, admin.purge(runtime, actor="bench"))
        await runtime.db.close()
    print(f"purge: {seconds * 1000:.0f} ms; {result}")
    print(f"longest wait of {writes} small writes during it: {longest * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
