"""A recursive-descent parser for XLSForm expressions.

Garbage in gives an ExpressionError naming what was expected and where, never
another exception: officers type these by hand in spreadsheets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from surveys.errors import ExpressionError
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

MAX_LENGTH = 2000
MAX_DEPTH = 40

# name: (fewest arguments, most arguments)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "not": (1, 1),
    "selected": (2, 2),
    "count-selected": (1, 1),
    "regex": (2, 2),
    "string-length": (1, 1),
    "contains": (2, 2),
    "number": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "if": (3, 3),
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[^}]*)\})
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<current>\.)
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEVELS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("or",), ()),
    (("and",), ()),
    ((), ("=", "!=", "<", "<=", ">", ">=")),
    ((), ("+", "-")),
    (("div", "mod"), ("*",)),
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}", position)
        kind = match.lastgroup or ""
        if kind == "refname":
            kind = "ref"
        if kind == "ref":
            name = match.group("refname").strip()
            if not _NAME.fullmatch(name):
                raise ExpressionError(f"'${{{name}}}' is not a question name", position)
            tokens.append(Token("ref", name, position))
        elif kind == "string":
            tokens.append(Token("string", match.group()[1:-1], position))
        elif kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.token.kind == "name" and self.token.text in words

    def at_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect_op(self, op: str) -> None:
        if not self.at_op(op):
            raise ExpressionError(f"expected '{op}' but found {self.describe()}", self.token.position)
        self.take()

    def describe(self) -> str:
        return "the end of the expression" if self.token.kind == "end" else f"'{self.token.text}'"

    def enter(self) -> None:
        """Count nesting, so a pathological expression is refused rather than exhausting the stack."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("the expression is nested too deeply", self.token.position)

    def expression(self) -> Node:
        self.enter()
        node = self.binary(0)
        self.depth -= 1
        return node

    def binary(self, level: int) -> Node:
        """Left-associative operators, loosest first: or, and, comparisons, + -, * div mod."""
        if level == len(_LEVELS):
            return self.unary()
        keywords, operators = _LEVELS[level]
        node = self.binary(level + 1)
        while self.at_keyword(*keywords) or self.at_op(*operators):
            operator = self.take().text
            node = Binary(operator, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if not self.at_op("-"):
            return self.primary()
        self.take()
        self.enter()
        node = Unary("-", self.unary())
        self.depth -= 1
        return node

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.take()
            return Literal(float(token.text))
        if token.kind == "string":
            self.take()
            return Literal(token.text)
        if token.kind == "ref":
            self.take()
            return Reference(token.text)
        if token.kind == "current":
            self.take()
            return Current()
        if token.kind == "name":
            return self.call()
        if self.at_op("("):
            self.take()
            node = self.expression()
            self.expect_op(")")
            return node
        raise ExpressionError(f"expected a value but found {self.describe()}", token.position)

    def call(self) -> Node:
        name = self.take()
        if not self.at_op("("):
            raise ExpressionError(
                f"'{name.text}' is not understood here; question answers are written ${{{name.text}}}",
                name.position,
            )
        if name.text not in FUNCTIONS:
            raise ExpressionError(f"unknown function '{name.text}()'", name.position)
        self.take()
        arguments: list[Node] = []
        if not self.at_op(")"):
            arguments.append(self.expression())
            while self.at_op(","):
                self.take()
                arguments.append(self.expression())
        self.expect_op(")")
        fewest, most = FUNCTIONS[name.text]
        if not fewest <= len(arguments) <= most:
            wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise ExpressionError(
                f"{name.text}() takes {wanted} argument{'s' if most != 1 else ''}, not {len(arguments)}",
                name.position,
            )
        if name.text == "regex" and isinstance(arguments[1], Literal):
            _check_pattern(str(arguments[1].value), name.position)
        return Call(name.text, tuple(arguments))


def _check_pattern(pattern: str, position: int) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ExpressionError(f"regex pattern '{pattern}' is not valid: {error}", position) from None


def parse(source: str) -> Expression:
    """Parse an expression, e.g. `parse("${q} = 'yes'")`; raises ExpressionError for anything else."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    if not source.strip():
        raise ExpressionError("the expression is empty")
    parser = _Parser(source)
    root = parser.expression()
    if parser.token.kind != "end":
        raise ExpressionError(f"unexpected {parser.describe()}", parser.token.position)
    return Expression(source, root)
