"""How long the daily retention purge holds SQLite's one writer on a database of a service's second year.

Every write waits while another holds the writer, so an answer that comes
during the purge waits for it. This fills a database as two years of service
would leave it (residents, finished responses with their answers, the outbox's
sent messages, a month of update receipts), their times spread evenly so that
`--overdue-days` days' worth lies past the retention period: 1 is the purge
of any ordinary day, more is a service's first purge after its retention
period was shortened. Then it runs the purge as `chorus run` does each night
and, while it runs, one typed answer's worth of writing every 10 ms; it
reports how long the purge took and the longest such write waited.

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
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.turn import NOW, prepared  # noqa: E402
from bot import admin  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.telegram.conversation import _apply  # noqa: E402
from bot.telegram.updates import Inbound  # noqa: E402
from storage.keys import participant_key  # noqa: E402
from storage.models import Answer, Contact, InboundReceipt, Outbox, Response  # noqa: E402
from storage.retention import RECEIPT_DAYS, Purged  # noqa: E402

RETENTION_DAYS = 730
CHUNK = 20_000
TEMPLATE_CHAT = 1


def one_finished(runtime: Runtime, session: Session) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A response and its answers as a resident's turns leave them, to copy: the real state, not a guess at it."""
    for update_id, text in enumerate(["/start bench", *(str(1 + n % 5) for n in range(20))], start=1):
        _apply(runtime, session, Inbound(update_id, TEMPLATE_CHAT, "en", text=text, message_id=update_id), False, True)
    session.flush()
    response = session.scalars(select(Response)).one()
    columns = [column.key for column in Response.__table__.columns]
    row = {name: getattr(response, name) for name in columns}
    answers = [
        {"question_id": answer.question_id, "value": answer.value, "text": answer.text}
        for answer in session.scalars(select(Answer).where(Answer.response_id == response.id))
    ]
    return row, answers


def when(number: int, count: int, span: timedelta) -> Any:
    """The `number`th of `count` moments spread evenly over `span` up to NOW, oldest first."""
    return NOW - span + span * (number / count)


def fill(runtime: Runtime, residents: int, responses: int, messages: int, overdue: int, per_day: int) -> None:
    """Write a second year's rows in chunks, each committed, on the writer's own connection."""
    span = timedelta(days=RETENTION_DAYS + overdue)
    secret = runtime.secret_key
    connection = runtime.db._connection()

    def chunked(make: Any, count: int) -> None:
        for start in range(0, count, CHUNK):
            with connection.begin(), Session(bind=connection) as session:
                make(session, range(start, min(start + CHUNK, count)))

    with connection.begin(), Session(bind=connection, expire_on_commit=False) as session:
        template, answers = one_finished(runtime, session)

    def contacts(session: Session, numbers: range) -> None:
        rows = [
            {
                "channel": "telegram",
                "address": str(10_000_000 + n),
                "role": "resident",
                "language": "en",
                "created_at": when(n, residents, span),
                "last_seen_at": when(n, residents, span),
            }
            for n in numbers
        ]
        session.execute(insert(Contact), rows)

    def finished(session: Session, numbers: range) -> None:
        rows, answer_rows = [], []
        for n in numbers:
            at = when(n, responses, span)
            response_id = f"bench{n:027d}"
            key = participant_key(secret, 1 + n % residents)
            rows.append(
                template
                | {"id": response_id, "participant_key": key, "started_at": at, "updated_at": at, "completed_at": at}
            )
            answer_rows += [answer | {"response_id": response_id} for answer in answers]
        session.execute(insert(Response), rows)
        session.execute(insert(Answer), answer_rows)

    def sent(session: Session, numbers: range) -> None:
        rows = [
            {
                "channel": "telegram",
                "address": str(10_000_000 + n % residents),
                "kind": "reply",
                "payload": {},
                "dedupe_key": f"before:{n}",
                "status": "sent",
                "attempts": 1,
                "not_before": when(n, messages, span),
                "created_at": when(n, messages, span),
                "sent_at": when(n, messages, span),
            }
            for n in numbers
        ]
        session.execute(insert(Outbox), rows)

    receipts_span = timedelta(days=RECEIPT_DAYS + overdue)
    receipts = per_day * (RECEIPT_DAYS + overdue)

    def received(session: Session, numbers: range) -> None:
        rows = [{"key": f"telegram:bench:{n}", "received_at": when(n, receipts, receipts_span)} for n in numbers]
        session.execute(insert(InboundReceipt), rows)

    chunked(contacts, residents)
    chunked(finished, responses)
    chunked(sent, messages)
    chunked(received, receipts)


async def measure(runtime: Runtime) -> tuple[float, float, int, Purged]:
    """The purge's seconds, the longest wait of a small write made every 10 ms meanwhile, and how many were made."""
    waits: list[float] = []
    started = time.perf_counter()
    purge = asyncio.create_task(admin.purge(runtime, actor="bench"))
    number = 0
    while not purge.done():
        await asyncio.sleep(0.01)
        number += 1
        key = f"telegram:during:{number}"
        asked = time.perf_counter()
        await runtime.db.write(
            lambda session, key=key: session.add(InboundReceipt(key=key, received_at=NOW)), quick=True
        )
        waits.append(time.perf_counter() - asked)
    result = await purge
    return time.perf_counter() - started, max(waits, default=0.0), len(waits), result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--responses", type=int, default=100_000, help="finished responses, twenty answers each")
    parser.add_argument("--messages", type=int, default=2_000_000, help="sent messages in the outbox")
    parser.add_argument("--receipts-per-day", type=int, default=3_000)
    parser.add_argument("--overdue-days", type=int, default=1, help="days' worth of rows past the retention period")
    args = parser.parse_args()
    os.environ["CHORUS_RETENTION_DAYS"] = str(RETENTION_DAYS)
    with tempfile.TemporaryDirectory() as folder:
        runtime = await prepared(Path(folder))
        filling = time.perf_counter()
        fill(runtime, args.residents, args.responses, args.messages, args.overdue_days, args.receipts_per_day)
        print(
            f"filled in {time.perf_counter() - filling:.0f} s; database {os.path.getsize(Path(folder) / 'turn.db') / 1e6:.0f} MB"
        )
        seconds, longest, writes, result = await measure(runtime)
        await runtime.db.close()
    print(f"purge: {seconds * 1000:.0f} ms; {result}")
    print(f"longest wait of {writes} small writes during it: {longest * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
