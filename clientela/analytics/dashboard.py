"""The dashboard's figures: customers, growth, revenue, quality, RFM groups, consent coverage
and open privacy requests — each one aggregate query, nothing per person."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clientela.domain.actor import utcnow
from clientela.domain.rfm import SEGMENTS
from clientela.privacy.requests import list_requests
from clientela.storage.uow import UnitOfWork

__all__ = ["dashboard"]

MONTHS = 12


def _month_start(number: int) -> datetime:
    year, month = divmod(number, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def dashboard(uow: UnitOfWork, *, minor_per_major: int, with_requests: bool) -> dict[str, Any]:
    now = utcnow()
    this_month = now.year * 12 + now.month - 1
    first = this_month - MONTHS + 1
    signups = uow.analytics.monthly_signups(_month_start(first))
    revenue = uow.analytics.monthly_revenue(_month_start(first))
    customers, quality = uow.analytics.profile_summary()
    months: list[dict[str, Any]] = [
        {
            "month": f"{divmod(m, 12)[0]:04d}-{divmod(m, 12)[1] + 1:02d}",
            "new_customers": signups.get(m, 0),
            "orders": revenue.get(m, (0, 0))[0],
            "revenue": round(revenue.get(m, (0, 0))[1] / minor_per_major, 2),
        }
        for m in range(first, this_month + 1)
    ]
    rfm = uow.analytics.segment_counts()
    requests = list_requests(uow, open_only=True) if with_requests else []
    return {
        "customers": customers,
        "new_this_month": months[-1]["new_customers"],
        "revenue_12_months": round(sum(float(m["revenue"]) for m in months), 2),
        "average_quality": None if quality is None else round(quality, 1),
        "months": months,
        "rfm": [{"segment": name, "customers": rfm.get(name, 0)} for name in SEGMENTS],
        "open_requests": len(requests),
        "nearest_due_days": min((int(r["days_left"]) for r in requests), default=None),
    }
