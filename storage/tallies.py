"""Running tallies of choice answers per survey version and week, changed in the same transaction as the answers.

A response adds its choice answers when it completes; erasing a completed
response takes them away again. Free text is not tallied: the summary reads
its analysis instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.catalogue import load_version
from storage.models import Answer, AnswerTally, Response
from storage.prepared import Prepared
from storage.upsert import conflict_insert
from surveys.model import Kind, Survey
from surveys.state import AnswerValue

Key = tuple[int, str, str, str]
TALLY = AnswerTally.metadata.tables["answer_tally"]


def _items(value: AnswerValue) -> list[str]:
    if value is None:
        return []
    if isinstance(value, tuple | list):
        return [str(item) for item in value]
    return [str(value)]


def tallied(survey: Survey, question_id: str) -> bool:
    """Whether a question's answers are counted: all but free text. A choice, number or date may carry
    a comment's words too (see surveys.state.State.notes), so the question's kind decides, not whether
    the answer has text."""
    question = survey.question(question_id)
    return question is not None and question.kind is not Kind.TEXT


def count_completed(session: Session, version_id: int, period: str, answers: Mapping[str, AnswerValue]) -> None:
    """Add a just-completed response's choice answers to the tallies."""
    add_counts(session, completed_counts(session, version_id, period, answers))


def completed_counts(
    session: Session, version_id: int, period: str, answers: Mapping[str, AnswerValue]
) -> Counter[Key]:
    """What a just-completed response adds to the tallies, for add_counts; many responses' are added together."""
    _, survey = load_version(session, version_id)
    counts: Counter[Key] = Counter()
    for question_id, value in answers.items():
        if tallied(survey, question_id):
            for item in _items(value):
                counts[(version_id, period, question_id, item)] += 1
    return counts


def uncount(session: Session, response_ids: Iterable[str]) -> None:
    """Take completed responses' choice answers out of the tallies, before they are deleted."""
    ids = list(response_ids)
    if not ids:
        return
    rows = session.execute(
        select(Response.survey_version_id, Response.period, Answer.question_id, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.response_id.in_(ids), Response.status == "completed")
    )
    counts: Counter[Key] = Counter()
    for version_id, period, question_id, value in rows:
        if tallied(load_version(session, version_id)[1], question_id):
            for item in _items(value):
                counts[(version_id, period, question_id, item)] -= 1
    add_counts(session, counts)
    session.execute(delete(AnswerTally).where(AnswerTally.count <= 0))


@cache
def _add_to_tally(dialect_name: str) -> Prepared:
    """Built once: a statement with the rows in it was compiled anew for every completed response."""
    key = ["survey_version_id", "period", "question_id", "value"]
    insert = conflict_insert(dialect_name, TALLY)
    return Prepared(
        insert.on_conflict_do_update(index_elements=key, set_={"count": TALLY.c.count + insert.excluded.count})
    )


def add_counts(session: Session, counts: Counter[Key]) -> None:
    """Change the tallies by `counts`, one statement for them all."""
    if not counts:
        return
    rows = [
        {"survey_version_id": v, "period": p, "question_id": q, "value": value[:200], "count": n}
        for (v, p, q, value), n in counts.items()
    ]
    _add_to_tally(session.get_bind().dialect.name).execute_many(session, rows)
