"""How long the weekly release of anonymous surveys holds up a member of staff finishing their pulse.

Finished anonymous surveys are held until enough are alike or their ISO week
ends, then released together in one transaction (storage.responses.release_held),
so that on PostgreSQL no transaction joins a person to their answers. A large
mutual's pulse can leave thousands held at midnight on Monday. This holds
`--held` finished staff pulses (the built-in template: eight questions, one a
free comment), releases them as `chorus run` does once their week has ended
(after a first release of a few, so its statements are compiled, as in a
service that has been running), and every 10 ms meanwhile holds one more
finished pulse, as a member of staff finishing then does: on SQLite it waits
for the one writer; on PostgreSQL (`--database-url`, a server where a
database of its own is made and dropped) for the event loop, on which a
write's Python runs, and for the held table, which the release ends by
rewriting (Database.rewrite).

Usage:
    .venv/bin/python bench/release.py [--held 2000] [--database-url postgresql+asyncpg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from bench.history import NOW  # noqa: E402
from bench.purge import beside_answers  # noqa: E402
from bench.turn import prepared  # noqa: E402
from bot import anonymous_release  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from storage.catalogue import import_survey  # noqa: E402
from storage.contacts import get_or_create_contact  # noqa: E402
from storage.database import Work  # noqa: E402
from storage.responses import hold_anonymous  # noqa: E402
from surveys.engine import start, step  # noqa: E402
from surveys.inputs import Reply  # noqa: E402
from surveys.loader import load_survey  # noqa: E402
from surveys.model import Survey  # noqa: E402
from surveys.state import State  # noqa: E402
from surveys.templates import TEMPLATES  # noqa: E402
from tests.test_outreach_processes import database_of_its_own  # noqa: E402

WARM_UP = 10
REPLIES = (
    "agree",
    "agree",
    "7",
    "mostly",
    "agree",
    "disagree",
    "9",
    "Fewer meetings and more time with the people we support",
)


def finished_pulse() -> tuple[Survey, State]:
    survey = load_survey(TEMPLATES / "staff-pulse.yaml")
    state, _ = start(survey)
    for reply in REPLIES:
        state, _ = step(survey, state, Reply(reply))
    return survey, state


def hold(session: Session, version_id: int, state: State, first: int, count: int) -> None:
    """`count` members of staff, each with a finished pulse held until the week ends."""
    for n in range(first, first + count):
        contact = get_or_create_contact(session, channel="telegram", address=str(10_000 + n), now=NOW, role="staff")
        hold_anonymous(session, contact_id=contact.id, version_id=version_id, channel="telegram", state=state, now=NOW)


async def measured(url: str | None, folder: Path, held: int) -> tuple[float, float, int, int]:
    """The release's seconds, the longest a pulse finished meanwhile waited, how many did, and how many it released."""
    runtime = await prepared(folder, url)
    survey, state = finished_pulse()
    version_id = (await runtime.db.write(lambda session: import_survey(session, survey, NOW))).version_id
    week_later = Runtime(runtime.settings, runtime.db, clock=lambda: NOW + timedelta(weeks=1))
    await runtime.db.write(lambda session: hold(session, version_id, state, 2_000_000, WARM_UP))
    await anonymous_release.release(week_later)  # statements compiled and the survey loaded, as in a running service
    await runtime.db.write(lambda session: hold(session, version_id, state, 0, held))

    def one_more(number: int) -> Work[None]:
        return lambda session: hold(session, version_id, state, 1_000_000 + number, 1)

    try:
        return await beside_answers(runtime, anonymous_release.release(week_later), one_more)
    finally:
        await runtime.db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held", type=int, default=2000, help="finished anonymous surveys held through the week")
    parser.add_argument("--database-url", help="a PostgreSQL server (SQLite in a temporary folder if not given)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.database_url:
            async with database_of_its_own(args.database_url) as url:
                seconds, longest, writes, released = await measured(url, Path(folder), args.held)
        else:
            seconds, longest, writes, released = await measured(None, Path(folder), args.held)
    print(
        f"release of {released} held surveys: {seconds * 1000:.0f} ms ({seconds * 1e6 / max(released, 1):.0f} us each)"
    )
    print(f"longest wait of {writes} pulses finished during it: {longest * 1000:.0f} ms")


if __name__ == "__main__":
    os.environ.setdefault("CHORUS_SECRET_KEY", "bench-secret-key-" + "x" * 32)
    asyncio.run(main())
