"""The syntax tree of a parsed expression: small frozen records, no behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Literal:
    value: str | float


@dataclass(frozen=True)
class Reference:
    """`${name}`: the answer to another question."""

    name: str


@dataclass(frozen=True)
class Current:
    """`.`: the answer being checked by a constraint."""


@dataclass(frozen=True)
class Unary:
    operator: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Node, ...]


Node = Literal | Reference | Current | Unary | Binary | Call


@dataclass(frozen=True)
class Expression:
    """A parsed expression with the text the officer wrote, kept for messages and round trips."""

    source: str
    root: Node

    def nodes(self) -> Iterator[Node]:
        """Every node of the tree, parents before children."""
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Unary):
                stack.append(node.operand)
            elif isinstance(node, Binary):
                stack.extend((node.right, node.left))
            elif isinstance(node, Call):
                stack.extend(reversed(node.arguments))

    def references(self) -> frozenset[str]:
        """Names of the questions the expression reads, for load-time checks."""
        return frozenset(node.name for node in self.nodes() if isinstance(node, Reference))

    def uses_current(self) -> bool:
        return any(isinstance(node, Current) for node in self.nodes())
