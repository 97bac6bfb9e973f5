"""RFM over the store's orders: one GROUP BY, quintile scores, named groups, stored per person
in ``customer_scores`` (usable in segments)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from clientela.analytics.days import analysis_day
from clientela.domain.rfm import SEGMENTS, quintile_scores, segment_of
from clientela.storage.uow import UnitOfWork

__all__ = ["RFM_COLUMNS", "compute_rfm"]

RFM_COLUMNS = (
    "rfm_recency_days",
    "rfm_frequency",
    "rfm_monetary_minor",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "rfm_as_of",
)


def compute_rfm(uow: UnitOfWork, *, as_of: date | None = None) -> dict[str, Any]:
    """Score every active customer with orders up to the day ``as_of``; returns the
    distribution of groups and the score boundaries."""
    as_of = analysis_day(as_of, "as_of")
    cutoff = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    rows = uow.analytics.rfm_aggregate(cutoff)
    if not rows:
        uow.analytics.replace_scores([], RFM_COLUMNS)
        return {"as_of": as_of.isoformat(), "customers": 0, "segments": {}}
    today = (as_of - date(1970, 1, 1)).days
    recency = np.array([today - last for _, last, _, _ in rows], dtype=np.float64)
    frequency = np.array([orders for _, _, orders, _ in rows], dtype=np.float64)
    monetary = np.array([total for _, _, _, total in rows], dtype=np.float64)
    r, f, m = quintile_scores(-recency), quintile_scores(frequency), quintile_scores(monetary)
    scored = [
        {
            "customer_id": customer_id,
            "rfm_recency_days": int(recency[i]),
            "rfm_frequency": int(frequency[i]),
            "rfm_monetary_minor": int(monetary[i]),
            "rfm_r": int(r[i]),
            "rfm_f": int(f[i]),
            "rfm_m": int(m[i]),
            "rfm_segment": segment_of(int(r[i]), int(f[i])),
            "rfm_as_of": as_of,
        }
        for i, (customer_id, _, _, _) in enumerate(rows)
    ]
    uow.analytics.replace_scores(scored, RFM_COLUMNS)
    counts = Counter(row["rfm_segment"] for row in scored)
    return {
        "as_of": as_of.isoformat(),
        "customers": len(scored),
        "segments": {name: counts.get(name, 0) for name in SEGMENTS},
    }
