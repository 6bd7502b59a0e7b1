"""Gathers a period's answers for the summary with SQL aggregation: counts per value, not every answer row.

A period is a set of ISO weeks (every response records its week; anonymous ones
record nothing finer), so a weekly summary reads grouped counts and the analysed
free text, whatever the number of responses.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from storage.catalogue import load_version
from storage.models import (
    Action,
    Answer,
    AnswerTally,
    Area,
    Invitation,
    Organisation,
    Response,
    Service,
    SurveyVersion,
    TextAnalysis,
    Wave,
)
from storage.models import Survey as SurveyRow
from storage.tallies import tallied
from surveys.answers import as_shown
from surveys.model import Kind

QUOTES = 3
SAMPLE = 2000


@dataclass(frozen=True)
class ChoiceCounts:
    question_id: str
    label: str
    kind: str
    counts: dict[str, int]
    labels: dict[str, str]


@dataclass(frozen=True)
class TextResult:
    """Analysed free text: `count` answers with this sentiment and these themes, or (count 0) one quote."""

    question_id: str
    text: str
    sentiment: str
    themes: tuple[str, ...]
    count: int = 1
    beside: str = ""  # a comment's question and the answer it came with: "Repairs?: Very dissatisfied"


@dataclass(frozen=True)
class SurveyPeriod:
    slug: str
    title: str
    responses: int
    questions: list[ChoiceCounts]
    texts: list[TextResult]
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)
    waves: dict[str, tuple[int, int]] = field(default_factory=dict)


NOT_RECORDED = "not recorded"


def weeks(start: date, end: date) -> list[str]:
    """ISO weeks touching [start, end], e.g. 2026-11-23..2026-11-29 -> ['2026-W48']."""
    found: dict[str, None] = {}
    day = start
    while day <= end:
        year, week, _ = day.isocalendar()
        found[f"{year}-W{week:02d}"] = None
        day += timedelta(days=1)
    return list(found)


def gather(
    session: Session, start: date, end: date, model_version: str, survey: str | None = None
) -> list[SurveyPeriod]:
    """Completed responses in the weeks of [start, end], per survey, with counts, breakdowns and analysed texts."""
    period = weeks(start, end)
    completed = (Response.status == "completed") & Response.period.in_(period)
    scope = select(Response.survey_version_id).where(completed)
    if survey:
        scope = (
            scope.join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
            .join(SurveyRow, SurveyRow.id == SurveyVersion.survey_id)
            .where(SurveyRow.slug == survey)
        )
    version_ids = sorted(set(session.scalars(scope.distinct())))
    periods = []
    for version_id in version_ids:
        periods.append(_version_period(session, version_id, completed, period, model_version))
    rates = wave_rates(session, start, end)
    return [replace(period, waves=rates.get(period.slug, {})) for period in _merge_by_survey(periods)]


def _version_period(
    session: Session, version_id: int, completed: Any, period: list[str], model_version: str
) -> SurveyPeriod:
    _, survey = load_version(session, version_id)
    in_version = completed & (Response.survey_version_id == version_id)
    responses = session.scalar(select(func.count()).select_from(Response).where(in_version)) or 0
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(AnswerTally.question_id, AnswerTally.value, func.sum(AnswerTally.count))
        .where(AnswerTally.survey_version_id == version_id, AnswerTally.period.in_(period), AnswerTally.count > 0)
        .group_by(AnswerTally.question_id, AnswerTally.value)
    )
    for question_id, value, count in rows:
        counts[question_id][value] = int(count)
    questions = []
    for step in survey.steps:
        question = step.question
        if question.id in counts and question.kind is not Kind.TEXT:
            labels = {c.value: c.label.get(survey.default_language, survey.default_language) for c in question.choices}
            questions.append(
                ChoiceCounts(
                    question.id,
                    question.label.get(survey.default_language, survey.default_language),
                    question.kind.value,
                    counts[question.id],
                    labels,
                )
            )
    texts = _texts(session, in_version, model_version)
    breakdowns = {
        "channel": _counts(session, Response.channel, in_version),
        "area": _counts(session, Area.name, in_version, (Area, Area.id == Response.area_id)),
        "service": _counts(session, Service.name, in_version, (Service, Service.id == Response.service_id)),
        "organisation": _counts(
            session, Organisation.name, in_version, (Organisation, Organisation.id == Response.organisation_id)
        ),
    }
    title = survey.title.get(survey.default_language, survey.default_language)
    return SurveyPeriod(survey.id, title, responses, questions, texts, breakdowns)


def wave_rates(session: Session, start: date, end: date) -> dict[str, dict[str, tuple[int, int]]]:
    """Per survey, per wave open during [start, end]: invitations sent and completed."""
    opened_by = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    closed_from = datetime.combine(start, time.min, tzinfo=UTC)
    rows = session.execute(
        select(
            SurveyRow.slug,
            Wave.name,
            func.count(Invitation.id),
            func.count(Invitation.completed_at),
        )
        .join(SurveyVersion, SurveyVersion.id == Wave.survey_version_id)
        .join(SurveyRow, SurveyRow.id == SurveyVersion.survey_id)
        .join(Invitation, Invitation.wave_id == Wave.id)
        .where(
            Wave.opened_at < opened_by,
            (Wave.closed_at.is_(None)) | (Wave.closed_at >= closed_from),
            Invitation.sent_at.is_not(None),
        )
        .group_by(SurveyRow.slug, Wave.name)
    )
    rates: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for slug, name, invited, completed in rows:
        rates[slug][name] = (invited, completed)
    return dict(rates)


def _texts(session: Session, in_version: Any, model_version: str) -> list[TextResult]:
    """Analysed free text as counts per (sentiment, themes) plus a few quotes per theme, not every comment."""
    analysed = (
        select(TextAnalysis.sentiment, TextAnalysis.themes, func.count())
        .join(Response, Response.id == TextAnalysis.response_id)
        .where(in_version, TextAnalysis.model_version == model_version)
        .group_by(TextAnalysis.sentiment, TextAnalysis.themes)
    )
    texts: list[TextResult] = []
    seen: set[str] = set()
    for sentiment, themes, count in session.execute(analysed):
        texts.append(TextResult("", "", sentiment, tuple(themes), count))
        seen.update(themes)
    quotes: list[TextResult] = []
    for theme in sorted(seen):
        rows = session.execute(
            select(
                Answer.question_id,
                Answer.text,
                TextAnalysis.sentiment,
                TextAnalysis.themes,
                Answer.value,
                Response.survey_version_id,
            )
            .join(Response, Response.id == Answer.response_id)
            .join(
                TextAnalysis,
                (TextAnalysis.response_id == Answer.response_id) & (TextAnalysis.question_id == Answer.question_id),
            )
            .where(
                in_version,
                TextAnalysis.model_version == model_version,
                cast(TextAnalysis.themes, String).contains(json.dumps(theme)),
            )
            .limit(QUOTES)
        )
        quotes += [
            TextResult(q, text or "", sentiment, tuple(found), 0, _beside(session, version_id, q, value))
            for q, text, sentiment, found, value, version_id in rows
        ]
    return texts + quotes


def _beside(session: Session, version_id: int, question_id: str, value: Any) -> str:
    """What a comment was written beside, so a quote like "it took a month" is read with its question
    and answer; nothing for a free-text answer, which is its own answer."""
    _, survey = load_version(session, version_id)
    question = survey.question(question_id)
    if question is None or not tallied(survey, question_id):
        return ""
    language = survey.default_language
    answer = as_shown(question, value, language, language) if value is not None else "skipped"
    return f"{question.label.get(language, language)}: {answer}"


def _counts(session: Session, column: Any, where: Any, join: tuple[Any, Any] | None = None) -> dict[str, int]:
    """Responses per value of one column, e.g. per area by the name officers gave it (`chorus org area`), as
    commissioners read it; responses without one count as "not recorded" (a link that named no area, say)."""
    query = select(column, func.count()).select_from(Response)
    if join is not None:
        query = query.outerjoin(*join)
    rows = session.execute(query.where(where).group_by(column))
    return {(value or NOT_RECORDED): count for value, count in rows}


def _merge_by_survey(periods: list[SurveyPeriod]) -> list[SurveyPeriod]:
    """Versions of one survey count together: a wording fix does not split its numbers."""
    merged: dict[str, SurveyPeriod] = {}
    for period in periods:
        if period.slug not in merged:
            merged[period.slug] = period
            continue
        first = merged[period.slug]
        questions = {q.question_id: q for q in first.questions}
        for question in period.questions:
            if question.question_id in questions:
                old = questions[question.question_id]
                total = {k: old.counts.get(k, 0) + question.counts.get(k, 0) for k in {*old.counts, *question.counts}}
                questions[question.question_id] = ChoiceCounts(
                    old.question_id, old.label, old.kind, total, {**old.labels, **question.labels}
                )
            else:
                questions[question.question_id] = question
        breakdowns = {
            name: {
                k: first.breakdowns.get(name, {}).get(k, 0) + period.breakdowns.get(name, {}).get(k, 0)
                for k in {*first.breakdowns.get(name, {}), *period.breakdowns.get(name, {})}
            }
            for name in {*first.breakdowns, *period.breakdowns}
        }
        merged[period.slug] = SurveyPeriod(
            first.slug,
            first.title,
            first.responses + period.responses,
            list(questions.values()),
            [*first.texts, *period.texts],
            breakdowns,
        )
    return list(merged.values())


def text_samples(
    session: Session, start: date, end: date, model_version: str, slugs: list[str], limit: int = SAMPLE
) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Up to `limit` analysed comments for each survey in the weeks of [start, end], with their themes."""
    samples: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for slug in slugs:
        query = (
            select(Answer.text, TextAnalysis.themes)
            .join(Response, Response.id == Answer.response_id)
            .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
            .join(SurveyRow, SurveyRow.id == SurveyVersion.survey_id)
            .join(
                TextAnalysis,
                (TextAnalysis.response_id == Answer.response_id) & (TextAnalysis.question_id == Answer.question_id),
            )
            .where(
                SurveyRow.slug == slug,
                Response.status == "completed",
                Response.period.in_(weeks(start, end)),
                TextAnalysis.model_version == model_version,
            )
            .limit(limit)
        )
        samples[slug] = [(text or "", tuple(themes)) for text, themes in session.execute(query)]
    return samples


def actions(session: Session, start: date, end: date, survey: str | None = None) -> list[dict[str, Any]]:
    """ "You said, we did" recorded in the period, for one survey when given (so no other survey's shows)."""
    query = select(Action).order_by(Action.created_at)
    if survey:
        query = query.join(SurveyRow, SurveyRow.id == Action.survey_id).where(SurveyRow.slug == survey)
    rows = session.scalars(query)
    return [
        {"theme": a.theme, "you_said": a.you_said, "we_did": a.we_did, "status": a.status}
        for a in rows
        if start <= a.created_at.date() <= end
    ]
