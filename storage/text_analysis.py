"""Stored analysis of free-text answers: what is still to analyse under a model version, and storing results.

An answer is analysed once per model version; a new version finds every answer
without a result of its own, which is how stored answers are re-analysed in bulk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select, tuple_
from sqlalchemy.orm import Session

from storage.catalogue import load_version
from storage.models import Answer, Response, TextAnalysis
from storage.upsert import insert_once


@dataclass(frozen=True)
class PendingText:
    response_id: str
    question_id: str
    text: str
    question: str
    audience: str


@dataclass(frozen=True)
class Result:
    response_id: str
    question_id: str
    sentiment: str
    polarity: float
    themes: tuple[str, ...]


def pending(session: Session, model_version: str, limit: int) -> list[PendingText]:
    """Free-text answers with no result under this model version, with their question's text."""
    done = and_(
        TextAnalysis.response_id == Answer.response_id,
        TextAnalysis.question_id == Answer.question_id,
        TextAnalysis.model_version == model_version,
    )
    rows = session.execute(
        select(Answer.response_id, Answer.question_id, Answer.text, Response.survey_version_id)
        .join(Response, Response.id == Answer.response_id)
        .outerjoin(TextAnalysis, done)
        .where(Answer.text.is_not(None), TextAnalysis.response_id.is_(None))
        .limit(limit)
    )
    found = []
    for response_id, question_id, text, version_id in rows:
        _, survey = load_version(session, version_id)
        question = survey.question(question_id)
        label = question.label.get(survey.default_language, survey.default_language) if question else ""
        found.append(PendingText(response_id, question_id, text or "", label, survey.metadata.audience.value))
    return found


def store(session: Session, results: Sequence[Result], model_version: str) -> int:
    """Keep results whose answers still exist (a participant may have gone back meanwhile); returns how many.

    With no time: an anonymous survey's answers keep only their ISO week, and the
    outbox keeps when each message went to each member of staff. When a staff
    answer's free text was analysed (within a minute of its release) would join the two.
    """
    if not results:
        return 0
    keys = [(r.response_id, r.question_id) for r in results]
    rows = session.execute(
        select(Answer.response_id, Answer.question_id).where(tuple_(Answer.response_id, Answer.question_id).in_(keys))
    )
    existing = {(response_id, question_id) for response_id, question_id in rows}
    stored = 0
    for result in results:
        if (result.response_id, result.question_id) in existing:
            stored += insert_once(
                session,
                TextAnalysis,
                response_id=result.response_id,
                question_id=result.question_id,
                model_version=model_version,
                sentiment=result.sentiment,
                polarity=result.polarity,
                themes=list(result.themes),
            )
    return stored
