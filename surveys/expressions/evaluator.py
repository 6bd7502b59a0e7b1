"""Evaluates a parsed expression against the answers so far, following XPath's coercions.

An unanswered or skipped question reads as the empty string; a multiple-choice
answer reads as its selected values. Evaluation never raises: a value that
cannot be a number is NaN, and NaN compares false, as in ODK.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

from surveys.expressions.nodes import (
    Binary,
    Call,
    Current,
    Expression,
    Literal,
    Node,
    Reference,
    Unary,
)

AnswerValue = str | int | float | tuple[str, ...] | None
Value = str | float | bool | tuple[str, ...]


def evaluate(expression: Expression, answers: Mapping[str, AnswerValue], current: AnswerValue = None) -> Value:
    """Evaluate, e.g. `${rooms} > 2` with answers {"rooms": 3} gives True."""
    return _Evaluation(answers, current).value(expression.root)


def truthy(expression: Expression, answers: Mapping[str, AnswerValue], current: AnswerValue = None) -> bool:
    return _boolean(evaluate(expression, answers, current))


def _from_answer(answer: AnswerValue) -> Value:
    if answer is None:
        return ""
    if isinstance(answer, int):
        return float(answer)
    return answer


def _string(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, tuple):
        return " ".join(value)
    return value


def _number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    try:
        return float(_string(value).strip())
    except ValueError:
        return math.nan


def _boolean(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    return len(value) > 0


def _selection(value: Value) -> Sequence[str]:
    return value if isinstance(value, tuple) else _string(value).split()


def _equal(left: Value, right: Value) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return _boolean(left) == _boolean(right)
    if isinstance(left, float) or isinstance(right, float):
        return _number(left) == _number(right)
    return _string(left) == _string(right)


def _order(operator: str, left: Value, right: Value) -> bool:
    a, b = _number(left), _number(right)
    if math.isnan(a) or math.isnan(b):
        if isinstance(left, (str, tuple)) and isinstance(right, (str, tuple)):
            x, y = _string(left), _string(right)
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[operator]
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


def _arithmetic(operator: str, a: float, b: float) -> float:
    try:
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        if operator == "*":
            return a * b
        if operator == "div":
            return a / b
        return math.fmod(a, b)
    except (ZeroDivisionError, ValueError):
        if operator == "div" and a != 0 and not math.isnan(a):
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return math.nan


def _regex(text: Value, pattern: Value) -> bool:
    try:
        return re.fullmatch(_string(pattern), _string(text)) is not None
    except re.error:
        return False


_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "not": lambda x: not _boolean(x),
    "selected": lambda answer, choice: _string(choice).strip() in _selection(answer),
    "count-selected": lambda answer: float(len(_selection(answer))),
    "regex": _regex,
    "string-length": lambda x: float(len(_string(x))),
    "contains": lambda haystack, needle: _string(needle) in _string(haystack),
    "number": _number,
    "true": lambda: True,
    "false": lambda: False,
}


class _Evaluation:
    def __init__(self, answers: Mapping[str, AnswerValue], current: AnswerValue) -> None:
        self.answers = answers
        self.current = current

    def value(self, node: Node) -> Value:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Reference):
            return _from_answer(self.answers.get(node.name))
        if isinstance(node, Current):
            return _from_answer(self.current)
        if isinstance(node, Unary):
            return -_number(self.value(node.operand))
        if isinstance(node, Binary):
            return self.binary(node)
        return self.call(node)

    def binary(self, node: Binary) -> Value:
        if node.operator == "and":
            return _boolean(self.value(node.left)) and _boolean(self.value(node.right))
        if node.operator == "or":
            return _boolean(self.value(node.left)) or _boolean(self.value(node.right))
        left, right = self.value(node.left), self.value(node.right)
        if node.operator == "=":
            return _equal(left, right)
        if node.operator == "!=":
            return not _equal(left, right)
        if node.operator in ("<", "<=", ">", ">="):
            return _order(node.operator, left, right)
        return _arithmetic(node.operator, _number(left), _number(right))

    def call(self, node: Call) -> Value:
        if node.function == "if":
            condition, then, otherwise = node.arguments
            return self.value(then) if _boolean(self.value(condition)) else self.value(otherwise)
        return _FUNCTIONS[node.function](*(self.value(argument) for argument in node.arguments))
