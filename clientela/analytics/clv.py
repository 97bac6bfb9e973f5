"""Lifetime value from the store's orders: the purchase summary per customer, the BG/NBD and
Gamma-Gamma fit (``domain/clv.py``) and the expected value over a horizon.

Purchases on the same day count as one purchase (as in Fader, Hardie & Lee's CDNOW data);
amounts are net of refunds; the mean spend is over repeat purchases only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import numpy as np

from clientela.analytics.days import analysis_day
from clientela.domain.clv import (
    BgNbd,
    GammaGamma,
    expected_purchases,
    expected_spend,
    fit_bg_nbd,
    fit_gamma_gamma,
    probability_alive,
)
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = ["CLV_COLUMNS", "PurchaseSummary", "fit_clv", "purchase_summary", "score_clv"]

CLV_COLUMNS = (
    "clv_expected_purchases",
    "clv_probability_alive",
    "clv_value",
    "clv_horizon",
    "clv_as_of",
)

TimeUnit = Literal["day", "week"]
_DAYS = {"day": 1.0, "week": 7.0}


@dataclass(frozen=True, slots=True)
class PurchaseSummary:
    customer_ids: list[str]
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    monetary: np.ndarray  # mean repeat purchase, major currency units


def purchase_summary(
    uow: UnitOfWork, *, until: date, unit: TimeUnit, minor_per_major: int
) -> PurchaseSummary:
    """Orders up to and including the day ``until`` (the end of the observation): the database
    sums them per customer and day, numpy builds the summary per customer."""
    span = _DAYS[unit]
    cutoff = datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)
    rows = uow.transactions.purchase_days(cutoff)
    if not rows:
        empty = np.array([], dtype=np.float64)
        return PurchaseSummary([], empty, empty, empty, empty)
    ids = [row[0] for row in rows]
    all_days = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
    all_amounts = np.fromiter((row[2] for row in rows), dtype=np.float64, count=len(rows))
    # rows come by customer then time: purchases on one day count once (amounts summed)
    new_customer = np.r_[True, [a != b for a, b in zip(ids[1:], ids[:-1], strict=True)]]
    new_day = new_customer | np.r_[True, all_days[1:] != all_days[:-1]]
    day_starts = np.flatnonzero(new_day)
    days = all_days[day_starts]
    amounts = np.add.reduceat(all_amounts, day_starts)
    starts = np.flatnonzero(new_customer[day_starts])  # each customer is a run of days
    ends = np.r_[starts[1:], len(days)]
    purchases = (ends - starts).astype(np.float64)
    first, last = days[starts], days[ends - 1]
    spent = np.add.reduceat(amounts, starts) - amounts[starts]  # repeat purchases only
    frequency = purchases - 1
    end = (until - date(1970, 1, 1)).days
    monetary = np.divide(
        spent, frequency * minor_per_major, out=np.zeros_like(spent), where=frequency > 0
    )
    return PurchaseSummary(
        [ids[i] for i in day_starts[starts]],
        frequency,
        (last - first) / span,
        (end - first) / span,
        monetary,
    )


def fit_clv(
    uow: UnitOfWork,
    *,
    settings: Settings,
    until: date | None = None,
    unit: TimeUnit = "week",
) -> dict[str, Any]:
    """Fit both models on the orders up to the day ``until`` (default: today, UTC)."""
    until = analysis_day(until, "until")
    summary = _summary(uow, settings, until, unit)
    purchases, spend = _fit(summary)
    return {
        "until": until.isoformat(),
        "time_unit": unit,
        "customers": len(summary.customer_ids),
        "repeat_customers": int((summary.frequency > 0).sum()),
        "r": purchases.r,
        "alpha": purchases.alpha,
        "a": purchases.a,
        "b": purchases.b,
        "p": spend.p,
        "q": spend.q,
        "gamma": spend.gamma,
        "log_likelihood": {"bg_nbd": purchases.log_likelihood, "gamma_gamma": spend.log_likelihood},
    }


def _summary(uow: UnitOfWork, settings: Settings, until: date, unit: TimeUnit) -> PurchaseSummary:
    if unit not in _DAYS:
        raise ValidationFailed(
            "Unknown time unit.", errors=[FieldError("time_unit", "day or week", "invalid_choice")]
        )
    summary = purchase_summary(
        uow, until=until, unit=unit, minor_per_major=10**settings.currency_exponent
    )
    if len(summary.customer_ids) < 10:
        raise ValidationFailed(
            "Too few customers with orders to fit a lifetime value model.",
            errors=[FieldError("transactions", "at least 10 customers with orders are needed")],
        )
    return summary


def _fit(summary: PurchaseSummary) -> tuple[BgNbd, GammaGamma]:
    try:
        purchases = fit_bg_nbd(summary.frequency, summary.recency, summary.age)
        spend = fit_gamma_gamma(summary.frequency, summary.monetary)
    except ValueError as exc:
        raise ValidationFailed(
            "The orders cannot support a lifetime value model.",
            errors=[FieldError("transactions", str(exc))],
        ) from None
    return purchases, spend


def score_clv(
    uow: UnitOfWork,
    *,
    settings: Settings,
    horizon: float,
    until: date | None = None,
    unit: TimeUnit = "week",
) -> dict[str, Any]:
    """Fit, then store per customer the expected purchases in the next ``horizon`` units, the
    probability of being alive, and their expected value (purchases × expected spend, major
    currency units, undiscounted)."""
    if not 0 < horizon <= 520:
        raise ValidationFailed(
            "The horizon is out of range.",
            errors=[FieldError("horizon", "between 0 and 520 time units", "out_of_range")],
        )
    until = analysis_day(until, "until")
    summary = _summary(uow, settings, until, unit)
    purchases, spend = _fit(summary)
    expected = expected_purchases(
        purchases, horizon, summary.frequency, summary.recency, summary.age
    )
    alive = probability_alive(purchases, summary.frequency, summary.recency, summary.age)
    value = expected * expected_spend(spend, summary.frequency, summary.monetary)
    label = f"{horizon:g} {unit}s"
    rows = [
        {
            "customer_id": customer_id,
            "clv_expected_purchases": float(expected[i]),
            "clv_probability_alive": float(alive[i]),
            "clv_value": round(float(value[i]), 2),
            "clv_horizon": label,
            "clv_as_of": until,
        }
        for i, customer_id in enumerate(summary.customer_ids)
    ]
    uow.analytics.replace_scores(rows, CLV_COLUMNS)
    return {
        "until": until.isoformat(),
        "horizon": label,
        "customers": len(rows),
        "total_value": round(float(value.sum()), 2),
        "mean_probability_alive": round(float(alive.mean()), 4),
    }
