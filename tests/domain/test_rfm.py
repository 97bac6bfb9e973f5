"""RFM quintile scores and groups (pure)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from clientela.domain.rfm import SEGMENTS, quintile_scores, segment_of


def test_quintiles_and_ties() -> None:
    assert list(quintile_scores(list(range(10)))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # 60% share one value: they share one score
    scores = quintile_scores([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert len(set(scores[:6])) == 1
    assert list(quintile_scores([])) == []


@given(st.lists(st.integers(0, 50), min_size=1, max_size=200))
def test_scores_are_monotone_and_bounded(values: list[int]) -> None:
    scores = quintile_scores(values)
    assert ((scores >= 1) & (scores <= 5)).all()
    order = np.argsort(values, kind="stable")
    assert (np.diff(scores[order]) >= 0).all()  # a higher value never scores lower
    for value in set(values):
        assert len({int(s) for s, v in zip(scores, values, strict=True) if v == value}) == 1


def test_every_cell_has_a_named_group() -> None:
    named = {segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert named == set(SEGMENTS)
    assert segment_of(5, 5) == "Champions"
    assert segment_of(1, 1) == "Lost"
    assert segment_of(1, 5) == "Can't Lose"
    assert segment_of(5, 1) == "New"
