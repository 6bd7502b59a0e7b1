"""The weekly summary: what people said in a period, with every number that leaves Chorus suppressed as needed.

Pure: storage gathers counts and analysed texts as plain records (the
protocols below say what they must hold), this turns them into a Summary, and
bot/ renders it. Small groups show no numbers and no
quotes, and no total gives them away (analysis.privacy).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from analysis.emerging import Emerging, emerging, uncoded
from analysis.metrics import (
    Change,
    NetPromoter,
    Proportion,
    change,
    measures_from_counts,
    nps,
    satisfied_counts,
    wilson,
)
from analysis.privacy import Table, is_small, may_quote, suppress
from analysis.redaction import redact

QUOTES_PER_THEME = 3


class ChoiceCounts(Protocol):
    """How often each value was given to one question in a period (storage gathers these)."""

    @property
    def question_id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def counts(self) -> Mapping[str, int]: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


class TextResult(Protocol):
    """Analysed free text: `count` answers with this sentiment and these themes; a quote (count 0) has its text."""

    @property
    def count(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def sentiment(self) -> str: ...
    @property
    def themes(self) -> tuple[str, ...]: ...
    @property
    def beside(self) -> str:
        """For a comment written at a question with choices, a number or a date: that question and the
        answer it came with ("Repairs?: Very dissatisfied"); empty for a free-text answer."""
        ...


class SurveyPeriod(Protocol):
    """Everything gathered for one survey in one period."""

    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def responses(self) -> int: ...
    @property
    def questions(self) -> Sequence[ChoiceCounts]: ...
    @property
    def texts(self) -> Sequence[TextResult]: ...
    @property
    def breakdowns(self) -> Mapping[str, Mapping[str, int]]: ...
    @property
    def waves(self) -> Mapping[str, tuple[int, int]]: ...


@dataclass(frozen=True)
class QuestionSummary:
    question_id: str
    label: str
    distribution: Table
    satisfied: Proportion | None = None
    change: Change | None = None
    net_promoter: NetPromoter | None = None


@dataclass(frozen=True)
class ThemeSummary:
    theme: str
    mentions: int | None
    negative: int | None
    quotes: tuple[str, ...]


@dataclass(frozen=True)
class SurveySummary:
    slug: str
    title: str
    responses: int | None
    suppressed: bool
    questions: tuple[QuestionSummary, ...] = ()
    sentiment: Table | None = None
    themes: tuple[ThemeSummary, ...] = ()
    breakdowns: Mapping[str, Table] = field(default_factory=dict)
    tenant_satisfaction: Mapping[str, Proportion] = field(default_factory=dict)
    emerging: tuple[Emerging, ...] = ()
    uncoded: int | None = None
    uncoded_phrases: tuple[tuple[str, int], ...] = ()
    response_rates: Mapping[str, Proportion | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    start: str
    end: str
    minimum_group: int
    surveys: tuple[SurveySummary, ...]
    actions: tuple[Mapping[str, Any], ...] = ()


def _question(current: ChoiceCounts, previous: ChoiceCounts | None, minimum: int) -> QuestionSummary:
    table = suppress({current.labels.get(v, v): n for v, n in current.counts.items()}, minimum)
    if table.total is None:
        return QuestionSummary(current.question_id, current.label, table)
    if current.kind == "likert":
        now = satisfied_counts(current.counts)
        before = satisfied_counts(previous.counts) if previous else None
        moved = change(before, now) if before is not None and before.total >= minimum else None
        return QuestionSummary(current.question_id, current.label, table, satisfied=now, change=moved)
    if current.kind == "rating" and set(current.counts) <= {str(n) for n in range(11)}:
        ratings = [int(value) for value, n in current.counts.items() for _ in range(n)]
        return QuestionSummary(current.question_id, current.label, table, net_promoter=nps(ratings))
    return QuestionSummary(current.question_id, current.label, table)


def _themes(texts: Sequence[TextResult], minimum: int) -> tuple[ThemeSummary, ...]:
    mentions: Counter[str] = Counter()
    negative: Counter[str] = Counter()
    for text in texts:
        for theme in text.themes:
            mentions[theme] += text.count
            negative[theme] += text.count if text.sentiment == "negative" else 0
    summaries = []
    for theme, count in mentions.most_common():
        shown = may_quote(count, minimum)
        quoted = (_quote(t) for t in texts if t.text and theme in t.themes)
        quotes = tuple(quoted)[:QUOTES_PER_THEME] if shown else ()
        summaries.append(ThemeSummary(theme, count if shown else None, negative[theme] if shown else None, quotes))
    return tuple(summaries)


def _quote(text: TextResult) -> str:
    """A comment quoted with what it was written beside: the author's words and a choice, nothing to redact."""
    quoted = redact(text.text)
    return f"{quoted} ({text.beside})" if text.beside else quoted


Sample = Sequence[tuple[str, tuple[str, ...]]]


def summarise_survey(
    current: SurveyPeriod, previous: SurveyPeriod | None, minimum: int, sample: Sample = (), sample_before: Sample = ()
) -> SurveySummary:
    """One survey's section: nothing at all when fewer than `minimum` people responded.

    `sample` and `sample_before` are comments with their themes from this period
    and the weeks before it, for emerging phrases and what no theme covered.
    """
    if current.responses < minimum:
        return SurveySummary(current.slug, current.title, None, suppressed=True)
    earlier = {q.question_id: q for q in (previous.questions if previous else ())}
    questions = tuple(_question(q, earlier.get(q.question_id), minimum) for q in current.questions)
    feelings: Counter[str] = Counter()
    for text in current.texts:
        feelings[text.sentiment] += text.count
    sentiment = suppress(feelings, minimum) if current.texts else None
    breakdowns = {name: suppress(dict(counts), minimum) for name, counts in current.breakdowns.items()}
    measured = measures_from_counts({q.question_id: q.counts for q in current.questions})
    measures = {measure: p for measure, p in measured.items() if p.total >= minimum}
    return SurveySummary(
        current.slug,
        current.title,
        current.responses,
        suppressed=False,
        questions=questions,
        sentiment=sentiment,
        themes=_themes(current.texts, minimum),
        breakdowns=breakdowns,
        tenant_satisfaction=measures,
        emerging=emerging([redact(text) for text, _ in sample], [[redact(text) for text, _ in sample_before]], minimum),
        uncoded=_uncoded_count(current.texts, minimum),
        uncoded_phrases=uncoded([(redact(text), themes) for text, themes in sample], minimum)[1],
        response_rates={
            name: _rate(invited, completed, minimum) for name, (invited, completed) in current.waves.items()
        },
    )


def _rate(invited: int, completed: int, minimum: int) -> Proportion | None:
    """A wave's response rate; hidden when those who answered, or those who did not, are a small group."""
    if is_small(completed, minimum) or is_small(invited - completed, minimum) or invited == 0:
        return None
    return wilson(completed, invited)


def _uncoded_count(texts: Sequence[TextResult], minimum: int) -> int | None:
    count = sum(text.count for text in texts if not text.themes)
    return count if not 0 < count < minimum else None


def summarise(
    start: str,
    end: str,
    current: Sequence[SurveyPeriod],
    previous: Sequence[SurveyPeriod],
    minimum: int,
    actions: Sequence[Mapping[str, Any]] = (),
    samples: Mapping[str, Sample] | None = None,
    samples_before: Mapping[str, Sample] | None = None,
) -> Summary:
    before = {p.slug: p for p in previous}
    now, earlier = samples or {}, samples_before or {}
    surveys = tuple(
        summarise_survey(
            period, before.get(period.slug), minimum, now.get(period.slug, ()), earlier.get(period.slug, ())
        )
        for period in current
    )
    return Summary(start, end, minimum, surveys, tuple(actions))
