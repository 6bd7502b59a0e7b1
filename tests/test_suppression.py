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


@given(COUNTS, COUNTS, st.integers(2, 15))
def test_two_tables_of_the_same_people_reveal_no_hidden_cell(
    by_area: dict[str, int], by_channel: dict[str, int], minimum: int
) -> None:
    """Publish the same people by area and by channel: every hidden cell still has more than one possible value."""
    total = sum(by_area.values())
    channel_total = sum(by_channel.values())
    if channel_total == 0 or total == 0:
        return
    scaled = dict(by_channel)
    key = next(iter(scaled))
    scaled[key] += total - channel_total
    if scaled[key] < 0:
        return
    for table, truth in ((suppress(by_area, minimum), by_area), (suppress(scaled, minimum), scaled)):
        hidden = [k for k, v in table.cells.items() if v is None]
        known_total = table.total
        if known_total is None or not hidden:
            continue
        hidden_mass = known_total - sum(v for v in table.cells.values() if v is not None)
        assert hidden_mass == sum(truth[k] for k in hidden)
        # The two tables share only their total, so a hidden cell is known only to lie between 0 and the
        # hidden mass of its own table, which is never below the minimum and never one cell alone.
        assert len(hidden) >= 2 and hidden_mass >= minimum
