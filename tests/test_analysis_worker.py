"""Free-text answers are analysed after they are stored, once per model version, on both databases."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot import analysis_worker
from bot.runtime import Runtime
from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.models import Answer, Response, TextAnalysis
from storage.responses import start_response
from storage.text_analysis import Result, store
from surveys.engine import start, step
from surveys.inputs import Reply
from tests.conftest import NOW, released_anonymously, survey_of

RESIDENTS = survey_of(
    "id: r\ntitle: R\nquestions:\n  - {id: better, type: text, label: 'What could we improve?'}\n  - {id: other, type: text, label: 'Anything else?'}\n"
)
STAFF = survey_of(
    "id: s\ntitle: S\naudience: staff\nquestions:\n  - {id: change, type: text, label: 'What is one thing we should change?'}\n"
)


def answered(survey: Any, *replies: str) -> Any:
    state, _ = start(survey)
    for reply in replies:
        state, _ = step(survey, state, Reply(reply))
    return state


async def populate(db: Database) -> None:
    def work(session: Any) -> None:
        residents = (import_survey(session, RESIDENTS, NOW)).version_id
        staff = (import_survey(session, STAFF, NOW)).version_id
        state = answered(RESIDENTS, "Nothing, all good", "Black mould in the bathroom, still not fixed")
        start_response(session, version_id=residents, participant_key="k1", channel="web", state=state, now=NOW)
        contact = get_or_create_contact(session, channel="telegram", address="9", now=NOW, role="staff")
        released_anonymously(
            session,
            contact_id=contact.id,
            version_id=staff,
            channel="telegram",
            state=answered(STAFF, "Too much workload and my manager never listens"),
            now=NOW,
        )

    await db.write(work)


async def results(db: Database) -> dict[str, tuple[str, list[str]]]:
    async with db.read() as session:
        rows = await session.execute(select(TextAnalysis.question_id, TextAnalysis.sentiment, TextAnalysis.themes))
        return {question: (sentiment, themes) for question, sentiment, themes in rows}


async def test_answers_are_analysed_once_with_the_right_codebook(db: Database, runtime: Runtime) -> None:
    await populate(db)
    assert await analysis_worker.analyse_pending(runtime) == 3
    assert await results(db) == {
        "better": ("positive", []),
        "other": ("negative", ["repairs and maintenance", "damp and mould"]),
        "change": ("negative", ["workload", "leadership", "voice and influence"]),
    }
    assert await analysis_worker.analyse_pending(runtime) == 0, "nothing is analysed twice"


async def test_a_comment_written_at_a_choice_is_analysed_as_free_text_is(db: Database, runtime: Runtime) -> None:
    scale = survey_of("id: sc\ntitle: Sc\nquestions:\n  - {id: repairs, type: likert, label: 'Repairs?'}\n")

    def work(session: Any) -> None:
        version = (import_survey(session, scale, NOW)).version_id
        state = answered(scale, "Black mould in the bathroom, still not fixed", "very dissatisfied")
        start_response(session, version_id=version, participant_key="k2", channel="web", state=state, now=NOW)

    await db.write(work)
    assert await analysis_worker.analyse_pending(runtime) == 1
    assert await results(db) == {"repairs": ("negative", ["repairs and maintenance", "damp and mould"])}


async def test_a_new_model_version_reanalyses_everything(
    db: Database, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await populate(db)
    await analysis_worker.analyse_pending(runtime)
    monkeypatch.setattr(analysis_worker, "model_version", lambda: "rules-2:test")
    assert await analysis_worker.analyse_pending(runtime) == 3
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(TextAnalysis)) == 6


async def test_batches_drain_a_backlog(db: Database, runtime: Runtime) -> None:
    await populate(db)
    assert [await analysis_worker.analyse_pending(runtime, batch_size=2) for _ in range(3)] == [2, 1, 0]


async def test_nothing_stored_with_an_anonymous_answer_says_when_it_was_given(db: Database, runtime: Runtime) -> None:
    """Staff answers are anonymous: kept with their ISO week only. The outbox keeps when each message went to a
    member of staff, thanks at the end included, so any finer time beside their answers (when its free text was
    analysed, a minute later at most) would join them back to the person."""
    await populate(db)
    await analysis_worker.analyse_pending(runtime)
    beside: dict[str, list[dict[str, Any]]] = {}
    async with db.read() as session:
        anonymous = await session.scalar(select(Response.id).where(Response.participant_key.is_(None)))
        for table, key in (
            (Response.__table__, "id"),
            (Answer.__table__, "response_id"),
            (TextAnalysis.__table__, "response_id"),
        ):
            rows = await session.execute(select(table).where(table.c[key] == anonymous))
            beside[table.name] = [row._asdict() for row in rows]
    assert all(beside.values()), "the anonymous response, its answer and its analysis are all stored"
    times = [
        (table, column)
        for table, rows in beside.items()
        for row in rows
        for column, value in row.items()
        if isinstance(value, datetime)
    ]
    assert times == []


async def test_a_result_for_an_answer_taken_back_meanwhile_is_dropped(db: Database) -> None:
    stored = await db.write(lambda s: store(s, [Result("gone", "q", "neutral", 0.0, ())], "v"))
    assert stored == 0


async def test_an_idle_worker_looks_less_and_less_often_and_still_finds_a_new_answer(
    db: Database, runtime: Runtime
) -> None:
    """Each look is a query over every free-text answer; looking at a fixed short interval all night cost a steady share of a core."""
    looks = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal looks
        looks += "text_analysis" in statement and statement.lstrip().upper().startswith("SELECT")

    event.listen(db.reader.sync_engine, "before_cursor_execute", count)
    worker = asyncio.create_task(analysis_worker.run(runtime, idle_seconds=0.01, max_idle_seconds=0.16))
    try:
        await asyncio.sleep(1.0)
        idle_looks = looks
        await populate(db)
        async with asyncio.timeout(10):
            while len(await results(db)) < 3:
                await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        event.remove(db.reader.sync_engine, "before_cursor_execute", count)
    assert 3 <= idle_looks < 20, f"{idle_looks} looks in an idle second; every 10 ms would be about 100"
