"""Two workers handling the same participant's messages at once take turns: no answer is lost or doubled."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

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
        asyncio.sleep(0.05)  # both workers are inside their transactions at the same time
        advance(session, SECRET, place, Reply(text), "telegram", NOW)

    await asyncio.gather(*(db.write(lambda s, n=n: answer(s, f"answer {n}")) for n in range(4)))
    async with db.read() as session:
        stored = {q: v for q, v in await session.execute(select(Answer.question_id, Answer.value))}
    assert sorted(stored) == ["q0", "q1", "q2", "q3"]
    assert sorted(stored.values()) == ["answer 0", "answer 1", "answer 2", "answer 3"]
