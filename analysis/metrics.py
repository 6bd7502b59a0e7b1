"""The numbers commissioners read: satisfaction, NPS and the Tenant Satisfaction Measures, each with its uncertainty.

>>> p = wilson(45, 60)
>>> (round(p.percent, 1), round(p.low, 1), round(p.high, 1))
(75.0, 62.8, 84.2)
>>> nps([10, 9, 8, 7, 3]).score
20.0
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Z95 = 1.959964
SATISFIED = frozenset({"very_satisfied", "fairly_satisfied", "strongly_agree", "agree"})
NOT_VALID = frozenset({"dont_know"})
TSM_QUESTIONS = {
    "TP01": "tp01_overall",
    "TP02": "tp02_repairs",
    "TP03": "tp03_repair_time",
    "TP04": "tp04_well_maintained",
    "TP05": "tp05_safe",
    "TP06": "tp06_listens",
    "TP07": "tp07_informed",
    "TP08": "tp08_fair_respect",
    "TP09": "tp09_complaints",
    "TP10": "tp10_communal_areas",
    "TP11": "tp11_neighbourhood",
    "TP12": "tp12_antisocial_behaviour",
}


@dataclass(frozen=True)
class Proportion:
    """`successes` of `total` as a percentage, with its 95% Wilson interval."""

    successes: int
    total: int
    percent: float
    low: float
    high: float


@dataclass(frozen=True)
class NetPromoter:
    score: float
    promoters: int
    passives: int
    detractors: int
    total: int
    low: float
    high: float


@dataclass(frozen=True)
class Change:
    """Week on week: the difference in percentage points and whether it is more than chance (two-sided, 5%)."""

    points: float
    z: float
    p_value: float
    significant: bool


def wilson(successes: int, total: int) -> Proportion:
    if total <= 0:
        return Proportion(successes, 0, math.nan, math.nan, math.nan)
    share = successes / total
    denominator = 1 + Z95**2 / total
    centre = (share + Z95**2 / (2 * total)) / denominator
    margin = Z95 * math.sqrt(share * (1 - share) / total + Z95**2 / (4 * total**2)) / denominator
    return Proportion(successes, total, 100 * share, 100 * (centre - margin), 100 * (centre + margin))


def distribution(answers: Iterable[str | None], scale: Sequence[str]) -> dict[str, int]:
    """Counts in scale order, e.g. distribution(["agree", "agree", None], ["agree", "disagree"]) -> {"agree": 2, "disagree": 0}."""
    counts = Counter(answer for answer in answers if answer is not None)
    return {value: counts.get(value, 0) for value in scale}


def satisfied(answers: Iterable[str | None]) -> Proportion:
    """Top two boxes among valid answers: "don't know" and unanswered are left out of the denominator."""
    return satisfied_counts(Counter(answer for answer in answers if answer is not None))


def satisfied_counts(counts: Mapping[str, int]) -> Proportion:
    """The same from counts per answer, e.g. {"very_satisfied": 8, "neither": 4, "dont_know": 1} -> 8 of 12."""
    valid = {value: n for value, n in counts.items() if value not in NOT_VALID}
    return wilson(sum(n for value, n in valid.items() if value in SATISFIED), sum(valid.values()))


def nps(ratings: Iterable[int | None]) -> NetPromoter:
    """Net Promoter Score (or eNPS) from 0-10 ratings, with a 95% interval from the score's variance."""
    valid = [r for r in ratings if r is not None]
    total = len(valid)
    promoters = sum(r >= 9 for r in valid)
    detractors = sum(r <= 6 for r in valid)
    if total == 0:
        return NetPromoter(math.nan, 0, 0, 0, 0, math.nan, math.nan)
    p, d = promoters / total, detractors / total
    score = 100 * (p - d)
    margin = 100 * Z95 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / total)
    return NetPromoter(
        score, promoters, total - promoters - detractors, detractors, total, score - margin, score + margin
    )


def change(before: Proportion, after: Proportion) -> Change:
    """A two-proportion z-test between two periods."""
    if before.total == 0 or after.total == 0:
        return Change(math.nan, math.nan, math.nan, False)
    pooled = (before.successes + after.successes) / (before.total + after.total)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / before.total + 1 / after.total))
    points = after.percent - before.percent
    if spread == 0:
        return Change(points, 0.0, 1.0, False)
    z = (after.successes / after.total - before.successes / before.total) / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return Change(points, z, p_value, p_value < 0.05)


def tenant_satisfaction_measures(responses: Iterable[Mapping[str, object]]) -> dict[str, Proportion]:
    """TP01-TP12 as the regulator prescribes: satisfied (or agree, for TP08) over those who gave a valid answer.

    Filtered questions count only those who were asked (said yes to the filter);
    "don't know" is left out of the denominator. One response per tenant: the caller keeps the latest.
    """
    counts: dict[str, Counter[str]] = {question: Counter() for question in TSM_QUESTIONS.values()}
    for row in responses:
        for question, tally in counts.items():
            if row.get(question) is not None:
                tally[str(row[question])] += 1
    return measures_from_counts(counts)


def measures_from_counts(counts: Mapping[str, Mapping[str, int]]) -> dict[str, Proportion]:
    """TP01-TP12 from counts per answer of each TSM question (as the weekly summary gathers them)."""
    return {
        measure: satisfied_counts(counts[question]) for measure, question in TSM_QUESTIONS.items() if question in counts
    }
