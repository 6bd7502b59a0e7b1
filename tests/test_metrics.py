"""Satisfaction, NPS and the Tenant Satisfaction Measures, with intervals and week-on-week tests."""

from __future__ import annotations

import math

import pytest

from analysis.metrics import change, distribution, nps, satisfied, tenant_satisfaction_measures, wilson


def test_wilson_interval_matches_the_textbook() -> None:
    p = wilson(45, 60)
    assert (round(p.percent, 1), round(p.low, 1), round(p.high, 1)) == (75.0, 62.8, 84.2)
    assert (wilson(0, 10).low, round(wilson(10, 10).high, 6)) == (0.0, 100.0)
    assert math.isnan(wilson(0, 0).percent)


def test_top_two_boxes_leave_dont_know_out_of_the_denominator() -> None:
    answers = ["very_satisfied", "fairly_satisfied", "neither", "very_dissatisfied", "dont_know", None]
    p = satisfied(answers)
    assert (p.successes, p.total, p.percent) == (2, 4, 50.0)


def test_distribution_in_scale_order() -> None:
    assert distribution(["agree", "agree", None, "disagree"], ["strongly_agree", "agree", "disagree"]) == {
        "strongly_agree": 0,
        "agree": 2,
        "disagree": 1,
    }


def test_nps() -> None:
    score = nps([10, 9, 9, 8, 7, 6, 0, None])
    assert (score.promoters, score.passives, score.detractors, score.total) == (3, 2, 2, 7)
    assert score.score == pytest.approx(100 * (3 - 2) / 7)
    assert score.low < score.score < score.high


def test_week_on_week_change_is_significant_only_when_it_is() -> None:
    assert change(wilson(50, 100), wilson(80, 100)).significant
    assert not change(wilson(50, 100), wilson(55, 100)).significant
    assert change(wilson(50, 100), wilson(55, 100)).points == pytest.approx(5.0)


def test_tsm_counts_filtered_questions_only_among_those_asked() -> None:
    responses = [
        {
            "tp01_overall": "very_satisfied",
            "had_repair": "yes",
            "tp02_repairs": "fairly_dissatisfied",
            "tp08_fair_respect": "agree",
        },
        {"tp01_overall": "fairly_satisfied", "had_repair": "no", "tp08_fair_respect": "dont_know"},
        {
            "tp01_overall": "neither",
            "had_repair": "yes",
            "tp02_repairs": "very_satisfied",
            "tp08_fair_respect": "disagree",
        },
    ]
    measures = tenant_satisfaction_measures(responses)
    assert (measures["TP01"].successes, measures["TP01"].total) == (2, 3)
    assert (measures["TP02"].successes, measures["TP02"].total) == (1, 2)
    assert (measures["TP08"].successes, measures["TP08"].total) == (1, 2)
    assert measures["TP09"].total == 0
