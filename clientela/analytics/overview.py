"""What the analytics page shows, all from stored results of the analyses' last runs: the RFM
grid and groups, the lifetime value distribution, the highest churn risks, the most recommended
products and the cohort retention matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from clientela.analytics.cohorts import stored_cohorts
from clientela.domain.rfm import SEGMENTS
from clientela.storage.uow import UnitOfWork

__all__ = ["analytics_overview"]


def analytics_overview(uow: UnitOfWork, *, churn_limit: int = 20) -> dict[str, Any]:
    grid = uow.analytics.rfm_grid()
    groups = uow.analytics.segment_counts()
    values = np.array(uow.analytics.score_values("clv_value"), dtype=np.float64)
    histogram: list[dict[str, Any]] = []
    if len(values):
        top = float(np.quantile(values, 0.99)) or 1.0  # the long tail in the last bucket
        counts, edges = np.histogram(np.clip(values, 0, top), bins=10, range=(0, top))
        histogram = [
            {
                "from": round(float(edges[i]), 2),
                "to": round(float(edges[i + 1]), 2),
                "customers": int(c),
            }
            for i, c in enumerate(counts)
        ]
    cohorts = stored_cohorts(uow)
    return {
        "rfm_grid": [[grid.get((r, f), 0) for f in range(1, 6)] for r in range(5, 0, -1)],
        "rfm_groups": [{"segment": name, "customers": groups.get(name, 0)} for name in SEGMENTS],
        "clv": {
            "customers": len(values),
            "total": round(float(values.sum()), 2) if len(values) else 0.0,
            "median": round(float(np.median(values)), 2) if len(values) else None,
            "histogram": histogram,
        },
        "churn": uow.analytics.highest("churn_score", limit=churn_limit),
        "recommended": uow.analytics.recommended_products(limit=10),
        "cohorts": cohorts[0]["cohorts"][-12:] if cohorts else [],
        "cohorts_computed_at": cohorts[1] if cohorts else None,
    }
