"""Small groups are never shown, and never given away by subtraction from what is shown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analysis.privacy import is_small, may_quote, suppress

COUNTS = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "f"]), st.integers(0, 40), min_size=1)


@given(COUNTS, st.integers(2, 15))
def test_no_small_group_is_published_or_derivable(counts: dict[str, int], minimum: int) -> None:
    table = suppress(counts, minimum)
    shown = {key: value for key, value in table.cells.items() if value is not None}
    hidden = [key for key, value in table.cells.items() if value is None]
    assert not any(is_small(value, minimum) for value in shown.values())
    assert all(key in hidden for key, count in counts.items() if is_small(count, minimum))
    if table.total is not None:
        assert not is_small(table.total, minimum)
        if hidden:
            assert len(hidden) >= 2, "one hidden cell would equal the total minus the rest"
            assert sum(counts[key] for key in hidden) >= minimum, "the hidden cells together are not a small group"


@given(COUNTS, st.integers(2, 15))
def test_published_numbers_are_the_true_ones(counts: dict[str, int], minimum: int) -> None:
    table = suppress(counts, minimum)
    for key, value in table.cells.items():
        assert value is None or value == counts[key]
    assert table.total is None or table.total == sum(counts.values())


def test_quotes_need_a_group_of_the_minimum_size() -> None:
    assert not may_quote(9, 10) and may_quote(10, 10)
