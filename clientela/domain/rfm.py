"""RFM: recency, frequency and monetary quintile scores, and the usual named groups.

Scores run from 1 (worst) to 5 (best) by quintile of the population scored; ties share a score
(average ranks), so a value that a fifth of the customers share never straddles two scores.
Recent is better, so recency is scored on the negated days since the last order. Groups follow
the common R × F map (first match wins):

    R\\F  1                 2                   3                   4          5
    5    New               Potential Loyalist  Potential Loyalist  Champions  Champions
    4    Promising         Potential Loyalist  Potential Loyalist  Loyal      Loyal
    3    About to Sleep    About to Sleep      Need Attention      Loyal      Loyal
    2    Hibernating       Hibernating         At Risk             At Risk    Can't Lose
    1    Lost              Hibernating         At Risk             At Risk    Can't Lose
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

__all__ = ["SEGMENTS", "quintile_scores", "segment_of"]

SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose",
    "Hibernating",
    "Lost",
)

_MAP: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose"),
    1: ("Lost", "Hibernating", "At Risk", "At Risk", "Can't Lose"),
}


def quintile_scores(values: ArrayLike) -> NDArray[np.int64]:
    """1..5 by quintile; higher values score higher."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return np.zeros(0, dtype=np.int64)
    share = rankdata(data, method="average") / data.size
    return np.asarray(np.clip(np.ceil(share * 5), 1, 5), dtype=np.int64)


def segment_of(recency_score: int, frequency_score: int) -> str:
    return _MAP[int(recency_score)][int(frequency_score) - 1]
