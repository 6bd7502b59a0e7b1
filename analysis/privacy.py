"""Suppression of small groups: the one place that decides what a commissioner may see.

A group smaller than the minimum group size shows no number and no quotes, and
no complementary cell is left that would give it away by subtraction from the
published total: whenever anything is hidden, at least two cells are hidden
and together they hold at least the minimum, or the total is hidden too.

    >>> suppress({"Ancoats": 40, "Miles Platting": 3, "Hulme": 25}, minimum=10)
    Table(cells={'Ancoats': 40, 'Miles Platting': None, 'Hulme': None}, total=68)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """Published counts: None where a cell is suppressed; `total` None when it had to be hidden as well."""

    cells: dict[str, int | None]
    total: int | None


def is_small(count: int, minimum: int) -> bool:
    """A group of 1 to minimum-1 people is too small to show; an empty group reveals no one."""
    return 0 < count < minimum


def may_quote(group_size: int, minimum: int) -> bool:
    return group_size >= minimum


def suppress(counts: Mapping[str, int], minimum: int) -> Table:
    hidden = {key for key, count in counts.items() if is_small(count, minimum)}
    total = sum(counts.values())
    if hidden:
        candidates = sorted((count, key) for key, count in counts.items() if key not in hidden and count > 0)
        while (len(hidden) < 2 or sum(counts[key] for key in hidden) < minimum) and candidates:
            hidden.add(candidates.pop(0)[1])
    hidden_sum = sum(counts[key] for key in hidden)
    safe = not hidden or (len(hidden) >= 2 and hidden_sum >= minimum)
    cells = {key: (None if key in hidden else count) for key, count in counts.items()}
    return Table(cells, total if safe and not is_small(total, minimum) else None)
