"""The XLSForm expression language: what officers write in relevant and constraint columns."""

from __future__ import annotations

import contextlib
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.errors import ExpressionError
from surveys.expressions import evaluate, parse, truthy

ANSWERS = {
    "yes_no": "yes",
    "many": ("a", "c"),
    "none_picked": (),
    "age": 42,
    "height": 1.75,
    "name": "Asha",
    "skipped": None,
    "when": "2026-03-29",
}


@pytest.mark.parametrize(
    ("source", "current", "expected"),
    [
        ("${yes_no} = 'yes'", None, True),
        ("${yes_no} = 'no'", None, False),
        ("${yes_no} != 'no'", None, True),
        ("selected(${many}, 'a')", None, True),
        ("selected(${many}, 'b')", None, False),
        ("selected(${none_picked}, 'a')", None, False),
        ("count-selected(${many})", None, 2.0),
        ("count-selected(${none_picked}) = 0", None, True),
        ("count-selected(${unanswered_list})", None, 0.0),
        ("${age} > 18 and ${age} < 65", None, True),
        ("${age} >= 42", None, True),
        ("${age} = '42'", None, True),
        ("${height} * 100 = 175", None, True),
        ("${age} div 8", None, 5.25),
        ("${age} mod 5", None, 2.0),
        ("-${age} + 2", None, -40.0),
        ("${skipped} != ''", None, False),
        ("${skipped} = ''", None, True),
        ("${name} != ''", None, True),
        ("${age} != ''", None, True),
        ("not(${yes_no} = 'yes')", None, False),
        ("${yes_no} = 'no' or ${age} > 40", None, True),
        ("${yes_no} = 'no' or ${age} > 40 and ${age} < 41", None, False),
        ("(${yes_no} = 'no' or ${age} > 40) and ${age} < 41", None, False),
        (". > 3 and . < 10", 5, True),
        (". > 3", 2.5, False),
        ("regex(., '[A-Z]{2}[0-9]{1,2} ?[0-9][A-Z]{2}')", "MA4 5JD", True),
        ("regex(., '[0-9]{5}')", "123456", False),
        ("regex(., '[0-9]{5}')", "12345", True),
        ("string-length(.) <= 5", "hello", True),
        ("string-length(.) <= 4", "hello", False),
        ("contains(${name}, 'sh')", None, True),
        ("if(${age} > 40, 'old', 'young') = 'old'", None, True),
        ("number('3') + 1", None, 4.0),
        ("true() and not(false())", None, True),
        ("${when} < '2026-12-01'", None, True),
        ("\"double\" = 'double'", None, True),
        ("1 div 0", None, math.inf),
    ],
)
def test_evaluates_like_xlsform(source: str, current: object, expected: object) -> None:
    assert evaluate(parse(source), ANSWERS, current) == expected  # type: ignore[arg-type]


def test_nan_compares_false_and_is_not_truthy() -> None:
    assert not truthy(parse("${name} > 3"), ANSWERS)
    assert not truthy(parse("${name} < 3"), ANSWERS)
    assert not truthy(parse("0 div 0"), ANSWERS)


def test_references_and_current_are_reported_for_load_time_checks() -> None:
    expression = parse("selected(${a}, 'x') and ${b} > . or ${a} = ''")
    assert expression.references() == {"a", "b"}
    assert expression.uses_current()
    assert not parse("${a} = 1").uses_current()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "the expression is empty"),
        ("${q} = ", "expected a value but found the end of the expression"),
        ("${q} = 'yes", "unexpected character"),
        ("q = 'yes'", "question answers are written ${q}"),
        ("frobnicate(${q})", "unknown function 'frobnicate()'"),
        ("selected(${q})", "selected() takes 2 arguments, not 1"),
        ("not(${a}, ${b})", "not() takes 1 argument, not 2"),
        ("(${a} = 1", "expected ')'"),
        ("${a} = 1)", "unexpected ')'"),
        ("${bad name} = 1", "is not a question name"),
        ("regex(., '[a-')", "regex pattern '[a-' is not valid"),
        ("${a} === 1", "expected a value but found '='"),
        ("(" * 100 + "1" + ")" * 100, "nested too deeply"),
        ("-" * 100 + "1", "nested too deeply"),
        ("1" * 3000, "longer than 2000 characters"),
    ],
)
def test_garbage_is_refused_with_its_own_error(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(source)


@settings(max_examples=400)
@given(st.text(max_size=60))
def test_parser_never_raises_anything_but_expression_error(source: str) -> None:
    with contextlib.suppress(ExpressionError):
        parse(source)


_ATOMS = st.sampled_from(
    ["${yes_no}", "${many}", "${age}", "${height}", "${skipped}", "${name}", ".", "'a'", "'yes'", "0", "3.5", "''"]
)


def _expressions() -> st.SearchStrategy[str]:
    operators = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod", "and", "or"])
    functions = st.sampled_from(["not({})", "count-selected({})", "string-length({})", "number({})", "-{}", "({})"])
    return st.recursive(
        _ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, operators, inner).map(" ".join),
            st.tuples(functions, inner).map(lambda pair: pair[0].format(pair[1])),
            st.tuples(inner, _ATOMS).map(lambda pair: f"selected({pair[0]}, {pair[1]})"),
            st.tuples(inner, inner).map(lambda pair: f"regex({pair[0]}, {pair[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
        ),
        max_leaves=12,
    )


@settings(max_examples=400)
@given(_expressions(), st.one_of(st.none(), st.integers(), st.text(max_size=5), st.tuples(st.sampled_from("abc"))))
def test_any_valid_expression_evaluates_without_raising(source: str, current: object) -> None:
    try:
        expression = parse(source)
    except ExpressionError:
        return  # e.g. nested too deeply
    truthy(expression, ANSWERS, current)  # type: ignore[arg-type]
