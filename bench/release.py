"""How long the weekly release of anonymous surveys holds SQLite's one writer.

Finished anonymous surveys are held until their ISO week ends, then released
together in one transaction (storage.responses.release_held), so that on
PostgreSQL no transaction joins a person to their answers. A large mutual's
pulse can leave thousands held at midnight on Monday, and every answer that
comes while the release runs waits for the writer. This holds `--held`
finished staff pulses (the built-in template: eight questions, one a free
comment), releases them as `chorus run` does once their week has ended, and
makes a small write every 10 ms meanwhile, as bench/purge.py does.

Usage:
    .venv/bin/python bench/release.py [--held 2000]
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
from storage.responses import hold_anonymous  # noqa: E402
from surveys.engine import start, step  # noqa: E402
from surveys.inputs import Reply  # noqa: E402
from surveys.loader import load_survey  # noqa: E402
from surveys.templates import TEMPLATES  # noqa: E402

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


def hold(session: Session, held: int) -> None:
    """`held` members of staff, each with a finished pulse held until the week ends."""
    survey = load_survey(TEMPLATES / "staff-pulse.yaml")
    version_id = import_survey(session, survey, NOW).version_id
    state, _ = start(survey)
    for reply in REPLIES:
        state, _ = step(survey, state, Reply(reply))
    for n in range(held):
        contact = get_or_create_contact(session, channel="telegram", address=str(10_000 + n), now=NOW, role="staff")
        hold_anonymous(session, contact_id=contact.id, version_id=version_id, channel="telegram", state=state, now=NOW)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held", type=int, default=2000, help="finished anonymous surveys held through the week")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runtime = await prepared(Path(folder))
        await runtime.db.write(lambda session: hold(session, args.held))
        week_later = Runtime(runtime.settings, runtime.db, clock=lambda: NOW + timedelta(weeks=1))
        seconds, longest, writes, released = await beside_answers(runtime, anonymous_release.release(week_later))
        await runtime.db.close()
    print(
        f"release of {released} held surveys: {seconds * 1000:.0f} ms ({seconds * 1e6 / max(released, 1):.0f} us each)"
    )
    print(f"longest wait of {writes} small writes during it: {longest * 1000:.0f} ms")


if __name__ == "__main__":
    os.environ.setdefault("CHORUS_SECRET_KEY", "bench-secret-key-" + "x" * 32)
    asyncio.run(main())
