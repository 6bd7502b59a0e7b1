"""CPU of one typed answer's turn alone: the statements, the engine and the rendering, without HTTP or the disk.

bench/ingest.py measures the whole webhook path, but on a shared machine its
runs drift by tens of percent, which hides a change worth a few. This runs
the turn of `bot/telegram/conversation.py` (what a typed answer does inside
its transaction) synchronously on the SQLite writer's connection: R residents
each answer all twenty questions of bench/survey.yaml, finishing it, in one
transaction per run, so no fsync, no event loop and no network is timed.
Compare two commits by running it from each, in turns.

With --sent N the outbox begins with N messages already sent, as after months
of service: sent rows are kept for the retention period, and every reply is
written beside them. With --responses N the database begins with N finished
responses (twenty answers each, from N/2 residents), as a service's second
year does: every answer is looked up and written beside them (bench/history.py).

Usage:
    .venv/bin/python bench/turn.py [--residents 200] [--runs 5] [--in-wave] [--sent 500000] [--responses 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import NOW, History, sent_before, write_history  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.telegram.conversation import _apply  # noqa: E402 - the turn itself, without the commit's wait for the disk
from bot.telegram.updates import Inbound  # noqa: E402
from storage.catalogue import import_survey  # noqa: E402
from storage.contacts import get_or_create_contact  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Contact, SurveyVersion  # noqa: E402
from storage.waves import Audience, create_wave, invite  # noqa: E402
from surveys.loader import load_survey  # noqa: E402

ANSWERS = 20  # every question, as in bench/ingest.py (/start asks the first); the last finishes the survey


async def prepared(folder: Path, url: str | None = None) -> Runtime:
    """A migrated database with bench/survey.yaml imported: SQLite in `folder`, or the database at `url`."""
    os.environ.setdefault("CHORUS_SECRET_KEY", "bench-secret-key-" + "x" * 32)
    db = Database.open(url or f"sqlite+aiosqlite:///{folder / 'turn.db'}")
    await upgrade(db)
    await db.write(lambda session: import_survey(session, load_survey(ROOT / "bench" / "survey.yaml"), NOW))
    return Runtime(load_settings(None), db, clock=lambda: NOW)


def invited(session: Session, chats: Sequence[int]) -> None:
    """A wave of the survey to these residents, as if a leaflet or their invite brought each of them:
    every answer is then an answer in a wave, which asks whether the wave has closed (bench/ingest.py
    --in-wave too)."""
    for chat in chats:
        get_or_create_contact(session, channel="telegram", address=str(chat), now=NOW)
    addresses = [str(chat) for chat in chats]
    columns = Contact.id, Contact.channel, Contact.address, Contact.language, Contact.organisation_id
    contacts = session.execute(select(*columns).where(Contact.address.in_(addresses))).all()
    version_id = session.scalars(select(SurveyVersion.id)).one()
    wave = create_wave(
        session,
        version_id=version_id,
        name=f"bench {chats[0]}",
        audience=Audience(),
        now=NOW,
        reminders_max=0,
        reminder_every_days=3,
    )
    invite(session, wave.id, contacts, NOW)


def one_run(runtime: Runtime, first_chat: int, residents: int, in_wave: bool) -> float:
    """Microseconds of CPU per typed answer for `residents` new residents, each answering every question."""
    chats = range(first_chat, first_chat + residents)
    update_ids = iter(range(first_chat * 100, first_chat * 100 + residents * (ANSWERS + 1)))
    connection = runtime.db._connection()  # the SQLite writer's own, as a quick write uses it
    transaction = connection.begin()
    with Session(bind=connection, expire_on_commit=False) as session:

        def turn(chat: int, text: str) -> None:
            update_id = next(update_ids)
            _apply(runtime, session, Inbound(update_id, chat, "en", text=text, message_id=update_id), False, True)

        if in_wave:
            invited(session, chats)
        for chat in chats:
            turn(chat, "/start bench")
        session.flush()
        started = time.thread_time()
        for n in range(ANSWERS):
            for chat in chats:
                turn(chat, str(1 + n % 5))
        session.flush()
        spent = time.thread_time() - started
    transaction.commit()
    return spent / (ANSWERS * residents) * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--in-wave", action="store_true", help="the residents answer in a wave that invited them")
    parser.add_argument("--sent", type=int, default=0, help="messages the outbox has already sent when it begins")
    parser.add_argument(
        "--responses", type=int, default=0, help="finished responses the database holds when it begins, two a resident"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runtime = await prepared(Path(folder))
        if args.sent:
            await runtime.db.write(lambda session: sent_before(session, args.sent))
        if args.responses:
            write_history(runtime, History(residents=args.responses // 2, responses=args.responses))
        runs = [one_run(runtime, 10_000 * (number + 1), args.residents, args.in_wave) for number in range(args.runs)]
        await runtime.db.close()
    listed = " ".join(f"{us:.1f}" for us in runs)
    print(f"turn CPU per typed answer: best {min(runs):.1f} us of {listed}")


if __name__ == "__main__":
    asyncio.run(main())
