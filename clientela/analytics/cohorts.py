"""Cohorts by first-order month: how many come back in each later month, and what they spend.

Month 0 is the month of the first order; a customer counts as retained in month k when they
ordered in that calendar month. Revenue is net of refunds, in the store currency's major unit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from clientela.analytics.days import analysis_day
from clientela.domain.actor import utcnow
from clientela.storage.uow import UnitOfWork

__all__ = ["cohort_matrix", "save_cohorts", "stored_cohorts"]

#: the name of the stored result the analytics page shows
STORED = "cohorts"


def cohort_matrix(
    uow: UnitOfWork, *, until: date | None = None, minor_per_major: int = 100
) -> dict[str, Any]:
    until = analysis_day(until, "until")
    cutoff = datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)
    active: dict[int, dict[int, int]] = defaultdict(dict)
    revenue: dict[int, dict[int, int]] = defaultdict(dict)
    for first, month, customers, amount in uow.analytics.cohort_cells(cutoff):
        active[first][month - first] = customers
        revenue[first][month - first] = amount
    last = until.year * 12 + until.month - 1
    cohorts = []
    for start in sorted(active):
        size = active[start].get(0, 0)
        months = last - start + 1
        year, month = divmod(start, 12)
        cohorts.append(
            {
                "cohort": f"{year:04d}-{month + 1:02d}",
                "customers": size,
                "retention": [
                    round(active[start].get(k, 0) / size, 4) if size else 0.0 for k in range(months)
                ],
                "active": [active[start].get(k, 0) for k in range(months)],
                "revenue": [
                    round(revenue[start].get(k, 0) / minor_per_major, 2) for k in range(months)
                ],
            }
        )
    return {"until": until.isoformat(), "cohorts": cohorts}


def save_cohorts(uow: UnitOfWork, *, minor_per_major: int = 100) -> dict[str, Any]:
    """Compute the matrix up to today and keep it for the analytics page: it reads every
    order, too slow to redo on each view of a large store."""
    result = cohort_matrix(uow, minor_per_major=minor_per_major)
    uow.analytics.save_result(STORED, result, utcnow())
    return result


def stored_cohorts(uow: UnitOfWork) -> tuple[dict[str, Any], datetime] | None:
    """The matrix of the last ``save_cohorts`` and when it ran; None before the first."""
    return uow.analytics.result(STORED)
