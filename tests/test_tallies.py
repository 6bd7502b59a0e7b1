"""Running tallies always equal the choice answers of completed responses, through completion, erasure and migration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.keys import participant_key
from storage.migrate import upgrade
from storage.models import Answer, AnswerTally, Response
from storage.privacy import forget
from storage.responses import apply_state, start_response
from surveys.engine import start, step
from surveys.inputs import Pick, Reply
from tests.conftest import NOW, RAW_SURVEY_VERSION, SECRET, released_anonymously, survey_of

SURVEY = survey_of(
    """
    id: t
    title: T
    questions:
      - {id: sat, type: likert, label: Sat}
      - {id: many, type: select_multiple, label: Many, choices: [{value: a, label: A}, {value: b, label: B}]}
      - {id: why, type: text, label: Why}
    """
)
STAFF = survey_of("id: st\ntitle: St\naudience: staff\nquestions:\n  - {id: nps, type: rating, label: N}\n")


def answered(sat: str, many: tuple[str, ...], why: str = "because", finish: bool = True, comment: str = "") -> Any:
    state, _ = start(SURVEY)
    if comment:
        state, _ = step(SURVEY, state, Reply(comment))
    state, _ = step(SURVEY, state, Pick((sat,)))
    state, _ = step(SURVEY, state, Pick(many))
    if finish:
        state, _ = step(SURVEY, state, Reply(why))
    return state


async def tallied(db: Database) -> dict[tuple[str, str], int]:
    async with db.read() as session:
        rows = await session.execute(
            select(AnswerTally.question_id, AnswerTally.value, func.sum(AnswerTally.count)).group_by(
                AnswerTally.question_id, AnswerTally.value
            )
        )
        return {(q, v): int(n) for q, v, n in rows if n}


async def counted(db: Database) -> dict[tuple[str, str], int]:
    """The same numbers the slow way, from every answer of every completed response."""
    async with db.read() as session:
        rows = await session.execute(
            select(Answer.question_id, Answer.value)
            .join(Response, Response.id == Answer.response_id)
            .where(Response.status == "completed", Answer.question_id != "why")
        )
        result: dict[tuple[str, str], int] = {}
        for question, value in rows:
            for item in value if isinstance(value, list) else [value]:
                result[(question, str(item))] = result.get((question, str(item)), 0) + 1
        return result


async def test_tallies_follow_completion_and_erasure(db: Database) -> None:
    def work(session: Any) -> dict[str, Any]:
        version = (import_survey(session, SURVEY, NOW)).version_id
        staff = (import_survey(session, STAFF, NOW)).version_id
        people = [get_or_create_contact(session, channel="telegram", address=str(n), now=NOW) for n in range(3)]
        for person, (sat, many, comment) in zip(
            people,
            [
                ("very_satisfied", ("a",), "though repairs took a month"),
                ("neither", ("a", "b"), ""),
                ("very_satisfied", ("b",), ""),
            ],
            strict=True,
        ):
            start_response(
                session,
                version_id=version,
                participant_key=participant_key(SECRET, person.id),
                channel="web",
                state=answered(sat, many, comment=comment),
                now=NOW,
            )
        unfinished = start_response(
            session,
            version_id=version,
            participant_key="x",
            channel="web",
            state=answered("neither", ("a",), finish=False),
            now=NOW,
        )
        staff_state, _ = step(STAFF, start(STAFF)[0], Reply("9"))
        released_anonymously(
            session, contact_id=people[0].id, version_id=staff, channel="web", state=staff_state, now=NOW
        )
        return {"people": [p.id for p in people], "unfinished": unfinished, "version": version}

    made = await db.write(work)
    assert await tallied(db) == await counted(db)
    assert (await tallied(db))[("sat", "very_satisfied")] == 2 and (await tallied(db))[("nps", "9")] == 1
    assert ("why", "because") not in await tallied(db), "free text is not tallied"
    async with db.read() as session:
        kept = await session.scalar(select(Answer.text).where(Answer.question_id == "sat", Answer.text.is_not(None)))
    assert kept == "though repairs took a month", "a comment is kept with the choice it came with"

    def finish(session: Any) -> None:
        state = answered("neither", ("a",), finish=False)
        done, _ = step(SURVEY, state, Reply("late"))
        apply_state(session, made["unfinished"], done, NOW)

    await db.write(finish)
    assert await tallied(db) == await counted(db)
    await db.write(lambda s: forget(s, made["people"][0], secret_key=SECRET, now=NOW, actor="test"))
    assert await tallied(db) == await counted(db)
    assert (await tallied(db))[("sat", "very_satisfied")] == 1, "an erased choice with a comment is uncounted too"
    assert (await tallied(db))[("nps", "9")] == 1, "the anonymous answer stays"


async def test_the_migration_tallies_responses_completed_before_it(empty_db: Database) -> None:
    await upgrade(empty_db, "0002")
    async with empty_db.writer.begin() as connection:
        for statement in (
            *RAW_SURVEY_VERSION,
            "INSERT INTO response (id, survey_version_id, channel, language, status, period) VALUES ('r1', 1, 'web', 'en', 'completed', '2026-W48')",
            "INSERT INTO response (id, survey_version_id, channel, language, status, period) VALUES ('r2', 1, 'web', 'en', 'answering', '2026-W48')",
            "INSERT INTO answer (response_id, question_id, value) VALUES ('r1', 'sat', '\"neither\"'), ('r1', 'many', '[\"a\", \"b\"]'), ('r2', 'sat', '\"neither\"')",
            "INSERT INTO answer (response_id, question_id, value, text) VALUES ('r1', 'why', '\"words\"', 'words')",
        ):
            await connection.execute(text(statement))
    await upgrade(empty_db)
    assert await tallied(empty_db) == {("sat", "neither"): 1, ("many", "a"): 1, ("many", "b"): 1}
