"""Cohorts by first-order month: how many come back in each later month, and what they spend.

Month 0 is the month of the first order; a customer counts as retained in month k when they
ordered in that calendar month. Revenue is net of refunds, in the store currency's major unit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from clientela.analytics.days import analysis_day
from clientela.storage.uow import UnitOfWork

__all__ = ["cohort_matrix"]


def _month(moment: datetime) -> tuple[int, int]:
    day = moment.astimezone(UTC)
    return day.year, day.month


def _index(start: tuple[int, int], month: tuple[int, int]) -> int:
    return (month[0] - start[0]) * 12 + month[1] - start[1]


def cohort_matrix(
    uow: UnitOfWork, *, until: date | None = None, minor_per_major: int = 100
) -> dict[str, Any]:
    until = analysis_day(until, "until")
    cutoff = datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)
    first: dict[str, tuple[int, int]] = {}
    active: dict[tuple[int, int], dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    revenue: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for customer_id, occurred_at, amount in uow.analytics.monthly_orders(cutoff):
        month = _month(occurred_at)
        start = first.setdefault(customer_id, month)
        offset = _index(start, month)
        active[start][offset].add(customer_id)
        revenue[start][offset] += amount
    last = (until.year, until.month)
    cohorts = []
    for start in sorted(active):
        size = len(active[start][0])
        months = _index(start, last) + 1
        cohorts.append(
            {
                "cohort": f"{start[0]:04d}-{start[1]:02d}",
                "customers": size,
                "retention": [
                    round(len(active[start].get(k, ())) / size, 4) for k in range(months)
                ],
                "active": [len(active[start].get(k, ())) for k in range(months)],
                "revenue": [
                    round(revenue[start].get(k, 0) / minor_per_major, 2) for k in range(months)
                ],
            }
        )
    return {"until": until.isoformat(), "cohorts": cohorts}
