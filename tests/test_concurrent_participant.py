"""Two workers handling the same participant's messages at once take turns: no answer is lost or doubled."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.participation import advance, begin, current_place
from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.models import Answer
from surveys.inputs import Reply
from tests.conftest import NOW, SECRET, survey_of

SURVEY = survey_of(
    "id: c\ntitle: C\nquestions:\n" + "".join(f"  - {{id: q{n}, type: text, label: Q{n}}}\n" for n in range(6))
)


def pause(session: Session) -> None:
    """Hold the transaction open a moment, so every worker is inside one at the same time.

    On PostgreSQL the wait is the server's, and the event loop runs the other
    workers meanwhile; SQLite has one writer, and the others wait in its queue.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_sleep(0.05)"))
    else:
        time.sleep(0.05)


async def test_simultaneous_answers_from_one_person_are_applied_in_turn(db: Database) -> None:
    version = (await db.write(lambda s: import_survey(s, SURVEY, NOW))).version_id

    def begin_survey(session: Any) -> None:
        contact = get_or_create_contact(session, channel="telegram", address="77", now=NOW)
        begin(session, SECRET, contact, version, "telegram", NOW)

    await db.write(begin_survey)

    def answer(session: Any, text: str) -> None:
        contact = get_or_create_contact(session, channel="telegram", address="77", now=NOW)
        place = current_place(session, SECRET, contact)
        assert place is not None
        pause(session)
        advance(session, SECRET, place, Reply(text), "telegram", NOW)

    await asyncio.gather(*(db.write(lambda s, n=n: answer(s, f"answer {n}")) for n in range(4)))
    async with db.read() as session:
        stored = {q: v for q, v in await session.execute(select(Answer.question_id, Answer.value))}
    assert sorted(stored) == ["q0", "q1", "q2", "q3"]
    assert sorted(stored.values()) == ["answer 0", "answer 1", "answer 2", "answer 3"]
