"""Next best product over the store's orders: item-to-item similarity fitted on who bought
what, each person's top N stored in ``customer_scores`` (with the hit rate of the same model
on everyone's held-out last order beside the most-popular baseline)."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from clientela.analytics.days import analysis_day
from clientela.domain.recommend import ALPHAS, evaluate_last_order, fit_items
from clientela.storage.uow import UnitOfWork

__all__ = ["RECOMMENDATION_COLUMNS", "compute_recommendations", "product_of"]

RECOMMENDATION_COLUMNS = ("recommendations", "recommendations_as_of")


def product_of(item: Any) -> str | None:
    """An order item's product: Segment's ``product_id``, else its ``sku``."""
    if not isinstance(item, dict):
        return None
    for key in ("product_id", "sku"):
        value = item.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def compute_recommendations(
    uow: UnitOfWork,
    *,
    as_of: date | None = None,
    top: int = 10,
    neighbours: int = 50,
    evaluate: bool = True,
) -> dict[str, Any]:
    """Recommend ``top`` products to every active customer with orders up to ``as_of``
    (nothing they already bought). ``evaluate`` first measures the model on each person's
    held-out last order (which also picks the similarity's asymmetry)."""
    as_of = analysis_day(as_of, "as_of")
    cutoff = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    orders: list[tuple[Hashable, Hashable, Hashable]] = []
    for customer_id, occurred_at, items in uow.analytics.purchased_items(cutoff):
        for item in items or []:
            product = product_of(item)
            if product is not None:
                orders.append((customer_id, occurred_at, product))
    if not orders:
        uow.analytics.replace_scores([], RECOMMENDATION_COLUMNS)
        return {"as_of": as_of.isoformat(), "customers": 0, "products": 0, "evaluation": None}
    evaluation = evaluate_last_order(orders, n=top, neighbours=neighbours) if evaluate else None
    alpha = evaluation.alpha if evaluation is not None else ALPHAS[-1]
    history: dict[Hashable, set[Hashable]] = {}
    for person, _, bought in orders:
        history.setdefault(person, set()).add(bought)
    people = sorted(history, key=str)
    model = fit_items(
        ((person, item) for person in people for item in sorted(history[person], key=str)),
        neighbours=neighbours,
        alpha=alpha,
    )
    answers = model.recommend_many([sorted(history[p], key=str) for p in people], top)
    rows = [
        {
            "customer_id": person,
            "recommendations": [
                {"product": str(item), "score": round(score, 4)} for item, score in answer
            ],
            "recommendations_as_of": as_of,
        }
        for person, answer in zip(people, answers, strict=True)
    ]
    uow.analytics.replace_scores(rows, RECOMMENDATION_COLUMNS)
    return {
        "as_of": as_of.isoformat(),
        "customers": len(rows),
        "products": len(model.items),
        "alpha": alpha,
        "evaluation": evaluation.as_dict() if evaluation is not None else None,
    }
