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
    """Orders up to and including the day ``until`` (the end of the observation)."""
    ids: list[str] = []
    frequency: list[float] = []
    recency: list[float] = []
    age: list[float] = []
    monetary: list[float] = []
    span = _DAYS[unit]
    end = until.toordinal()
    cutoff = datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)

    def close(customer: str, days: dict[int, int]) -> None:
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeats = [days[day] for day in ordered[1:]]
        ids.append(customer)
        frequency.append(float(len(repeats)))
        recency.append((last - first) / span)
        age.append((end - first) / span)
        monetary.append(float(np.mean(repeats)) / minor_per_major if repeats else 0.0)

    current: str | None = None
    days: dict[int, int] = {}
    for batch in uow.transactions.purchases(cutoff):
        for customer, occurred_at, amount in batch:
            if customer != current:
                if current is not None:
                    close(current, days)
                current, days = customer, {}
            day = occurred_at.date().toordinal()
            days[day] = days.get(day, 0) + amount
    if current is not None:
        close(current, days)
    return PurchaseSummary(
        ids,
        np.array(frequency),
        np.array(recency),
        np.array(age),
        np.array(monetary),
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
