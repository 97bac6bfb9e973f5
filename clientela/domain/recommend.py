"""Next best product: item-to-item similarity from who bought what (cosine of the items' buyer
vectors), scored for a person as the sum of similarities to what they bought, excluding what
they already have. Evaluated by hit rate on each person's held-out last order against the
most-popular baseline.

Everything is sparse (scipy): fitting is one sparse product; each item keeps only its
``neighbours`` most similar items, which bounds memory and time on large catalogues.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["ALPHAS", "HitRate", "ItemModel", "evaluate_last_order", "fit_items"]


@dataclass(frozen=True)
class ItemModel:
    items: list[Hashable]
    index: dict[Hashable, int]
    similarity: sparse.csr_matrix  # items × items, top neighbours per row, no diagonal
    popularity: np.ndarray  # buyers per item

    def recommend(self, bought: Iterable[Hashable], n: int = 10) -> list[tuple[Hashable, float]]:
        """Top ``n`` items for someone who bought ``bought`` (not among them), with scores;
        people with no known item get the most popular ones (score 0)."""
        return self.recommend_many([list(bought)], n)[0]

    def recommend_many(
        self, histories: Sequence[Sequence[Hashable]], n: int = 10
    ) -> list[list[tuple[Hashable, float]]]:
        rows, columns = [], []
        for row, bought in enumerate(histories):
            for item in set(bought):
                column = self.index.get(item)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
        owned = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)),
            shape=(len(histories), len(self.items)),
        )
        scores = (owned @ self.similarity).tocsr()
        order = np.argsort(-self.popularity, kind="stable")
        answers = []
        for row in range(len(histories)):
            start, end = scores.indptr[row], scores.indptr[row + 1]
            candidates = scores.indices[start:end]
            values = scores.data[start:end]
            have = set(owned.indices[owned.indptr[row] : owned.indptr[row + 1]].tolist())
            keep = np.fromiter((c not in have for c in candidates), bool, len(candidates))
            candidates, values = candidates[keep], values[keep]
            # by score, ties broken by popularity then by item order (deterministic)
            ranked = np.lexsort((candidates, -self.popularity[candidates], -values))[:n]
            chosen = [(self.items[candidates[i]], float(values[i])) for i in ranked]
            if len(chosen) < n:  # top up with popular items
                taken = have | {int(candidates[i]) for i in ranked}
                for column in order:
                    if len(chosen) >= n:
                        break
                    if int(column) not in taken:
                        chosen.append((self.items[column], 0.0))
            answers.append(chosen)
        return answers

    def popular(self, bought: Iterable[Hashable], n: int = 10) -> list[Hashable]:
        """The baseline: the most popular items the person does not have."""
        have = {self.index[i] for i in bought if i in self.index}
        chosen = []
        for column in np.argsort(-self.popularity, kind="stable"):
            if int(column) not in have:
                chosen.append(self.items[column])
                if len(chosen) == n:
                    break
        return chosen


def fit_items(
    pairs: Iterable[tuple[Hashable, Hashable]], *, neighbours: int = 50, alpha: float = 0.5
) -> ItemModel:
    """Fit on (person, item) purchases (repeats count once)."""
    people: dict[Hashable, int] = {}
    index: dict[Hashable, int] = {}
    rows, columns = [], []
    for person, item in pairs:
        rows.append(people.setdefault(person, len(people)))
        columns.append(index.setdefault(item, len(index)))
    bought = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)),
        shape=(len(people), len(index)),
    )
    bought.data[:] = 1.0  # duplicates were summed: once is enough
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    together = (bought.T @ bought).tocsr()  # people who bought both i and j
    safe = np.maximum(buyers, 1.0)
    # asymmetric cosine: co(i, j) / (n_i^alpha * n_j^(1 - alpha)); 0.5 is the cosine,
    # 1 the confidence P(j | i) of an association rule i -> j
    left = sparse.diags((safe**-alpha).astype(np.float32))
    right = sparse.diags((safe ** -(1.0 - alpha)).astype(np.float32))
    similarity = (left @ together @ right).tocsr()
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    return ItemModel(
        items=list(index),
        index=index,
        similarity=_top_per_row(similarity, neighbours),
        popularity=buyers,
    )


def _top_per_row(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    data, indices, indptr = [], [], [0]
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values = matrix.data[start:end]
        columns = matrix.indices[start:end]
        if len(values) > k:
            keep = np.argpartition(-values, k)[:k]
            values, columns = values[keep], columns[keep]
        data.append(values)
        indices.append(columns)
        indptr.append(indptr[-1] + len(values))
    return sparse.csr_matrix(
        (
            np.concatenate(data) if data else np.array([], np.float32),
            np.concatenate(indices) if indices else np.array([], np.int32),
            np.array(indptr),
        ),
        shape=matrix.shape,
    )


@dataclass(frozen=True)
class HitRate:
    people: int
    top_n: int
    alpha: float  # the similarity's asymmetry used (see fit_items)
    hit_rate: float  # share of people with at least one recommended item in the held-out order
    baseline_hit_rate: float  # the same for the most popular items
    precision: float  # recommended items that were bought / recommended
    baseline_precision: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "top_n": self.top_n,
            "alpha": self.alpha,
            "hit_rate": round(self.hit_rate, 4),
            "baseline_hit_rate": round(self.baseline_hit_rate, 4),
            "lift": round(self.hit_rate / self.baseline_hit_rate, 3)
            if self.baseline_hit_rate
            else None,
            "precision": round(self.precision, 4),
            "baseline_precision": round(self.baseline_precision, 4),
        }


ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def evaluate_last_order(
    orders: Iterable[tuple[Hashable, Hashable, Hashable]],
    *,
    n: int = 10,
    neighbours: int = 50,
    alphas: Sequence[float] = ALPHAS,
) -> HitRate:
    """Hold out each person's last order (``orders``: (person, order rank, item), a higher rank
    is later); fit on everything else; count hits among items new to the person (what a
    cross-sell recommends) for the model and for the most-popular baseline.

    ``alpha`` is chosen without looking at the last orders: the same test one order earlier
    (each person's last order removed) picks the best of ``alphas``."""
    baskets = _baskets(orders)
    alpha = alphas[0]
    if len(alphas) > 1:
        earlier = {
            person: {rank: basket[rank] for rank in sorted(basket)[:-1]}  # type: ignore[type-var]
            for person, basket in baskets.items()
        }
        alpha = max(alphas, key=lambda a: _hit_rate(earlier, n, neighbours, a).hit_rate)
    return _hit_rate(baskets, n, neighbours, alpha)


def _baskets(
    orders: Iterable[tuple[Hashable, Hashable, Hashable]],
) -> dict[Hashable, dict[Hashable, set[Hashable]]]:
    by_person: dict[Hashable, dict[Hashable, set[Hashable]]] = {}
    for person, rank, item in orders:
        by_person.setdefault(person, {}).setdefault(rank, set()).add(item)
    return by_person


def _hit_rate(
    by_person: dict[Hashable, dict[Hashable, set[Hashable]]],
    n: int,
    neighbours: int,
    alpha: float,
) -> HitRate:
    training: list[tuple[Hashable, Hashable]] = []
    tests: list[tuple[list[Hashable], set[Hashable]]] = []
    for person, baskets in by_person.items():
        ranks = sorted(baskets)  # type: ignore[type-var]
        history = sorted({item for rank in ranks[:-1] for item in baskets[rank]}, key=str)
        training.extend((person, item) for item in history)
        if len(ranks) < 2:
            continue
        new_items = baskets[ranks[-1]] - set(history)
        if new_items:  # a cross-sell can only hit items new to the person
            tests.append((history, new_items))
    model = fit_items(training, neighbours=neighbours, alpha=alpha)
    answers = model.recommend_many([history for history, _ in tests], n)
    hits = baseline_hits = found = baseline_found = 0
    for (history, wanted), answer in zip(tests, answers, strict=True):
        mine = {item for item, _ in answer} & wanted
        popular = set(model.popular(history, n)) & wanted
        hits += bool(mine)
        baseline_hits += bool(popular)
        found += len(mine)
        baseline_found += len(popular)
    people = len(tests)
    return HitRate(
        people=people,
        top_n=n,
        alpha=alpha,
        hit_rate=hits / people if people else 0.0,
        baseline_hit_rate=baseline_hits / people if people else 0.0,
        precision=found / (people * n) if people else 0.0,
        baseline_precision=baseline_found / (people * n) if people else 0.0,
    )
