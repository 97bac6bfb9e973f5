"""Churn risk: a logistic model on behavioural and transactional features, with a time-based
check and the top reasons per customer.

The pipeline (``ChurnModel``) takes plain rows (numbers and categories), one-hot encodes the
categories, scales, and fits an L2-regularised logistic regression; a customer's reasons are
the features that push their score up most (coefficient × scaled value). Logistic regression
is chosen over boosted trees for the reasons it gives and its calibration; on IBM's telco churn
data it reaches the issue's ROC AUC bar (tests/analytics/test_churn.py).

On the store: features of each customer who had ordered before a cut-off, label = no order in
the ``horizon`` days after it. The model is checked on one cut-off (trained on the cut-off a
horizon earlier) and then trained on the latest complete window to score everyone now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

from clientela.analytics.days import analysis_day
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.storage.uow import UnitOfWork

__all__ = ["CHURN_COLUMNS", "ChurnModel", "evaluate", "score_churn"]

CHURN_COLUMNS = ("churn_score", "churn_reasons", "churn_as_of")


@dataclass
class ChurnModel:
    vectoriser: DictVectorizer
    scaler: StandardScaler
    regression: LogisticRegression

    @classmethod
    def fit(cls, rows: Sequence[Mapping[str, Any]], labels: Sequence[bool]) -> ChurnModel:
        vectoriser = DictVectorizer(sparse=False)
        matrix = vectoriser.fit_transform([dict(row) for row in rows])
        scaler = StandardScaler()
        scaled = scaler.fit_transform(matrix)
        regression = LogisticRegression(C=1.0, max_iter=2000)
        regression.fit(scaled, np.asarray(labels, dtype=bool))
        return cls(vectoriser, scaler, regression)

    def _scaled(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        return self.scaler.transform(self.vectoriser.transform([dict(row) for row in rows]))

    def scores(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        return self.regression.predict_proba(self._scaled(rows))[:, 1]

    def reasons(self, rows: Sequence[Mapping[str, Any]], top: int = 3) -> list[list[str]]:
        """The features raising each score most (none when nothing raises it)."""
        contributions = self._scaled(rows) * self.regression.coef_[0]
        names = self.vectoriser.get_feature_names_out()
        found = []
        for row in contributions:
            order = np.argsort(-row)[:top]
            found.append([str(names[i]) for i in order if row[i] > 0])
        return found


def evaluate(
    model: ChurnModel, rows: Sequence[Mapping[str, Any]], labels: Sequence[bool]
) -> dict[str, Any]:
    """ROC AUC, Brier score and a 10-bin reliability table (predicted vs observed)."""
    truth = np.asarray(labels, dtype=bool)
    predicted = model.scores(rows)
    bins = []
    for low in np.linspace(0, 0.9, 10):
        inside = (predicted >= low) & (predicted < low + 0.1 + (1e-9 if low >= 0.9 else 0))
        if inside.any():
            bins.append(
                {
                    "from": round(float(low), 1),
                    "customers": int(inside.sum()),
                    "predicted": round(float(predicted[inside].mean()), 4),
                    "observed": round(float(truth[inside].mean()), 4),
                }
            )
    return {
        "customers": len(truth),
        "churn_rate": round(float(truth.mean()), 4),
        "roc_auc": round(float(roc_auc_score(truth, predicted)), 4),
        "brier": round(float(brier_score_loss(truth, predicted)), 4),
        "calibration": bins,
    }


# --- on the store -------------------------------------------------------------------------------


def _features(uow: UnitOfWork, moment: date) -> dict[str, dict[str, Any]]:
    cutoff = datetime.combine(moment, time(0), tzinfo=UTC)
    rows = {}
    for (
        customer_id,
        first,
        last,
        orders,
        revenue,
        events_90,
        last_event,
        channel,
    ) in uow.analytics.activity_features(cutoff):
        rows[customer_id] = {
            "days_since_last_order": (cutoff - last).days,
            "tenure_days": (cutoff - first).days,
            "orders": orders,
            "revenue": revenue / 100,
            "events_last_90_days": events_90,
            "days_since_last_event": (cutoff - last_event).days if last_event else 9999,
            "channel": channel or "unknown",
        }
    return rows


def _window(
    uow: UnitOfWork, start: date, horizon: int
) -> tuple[list[str], list[dict[str, Any]], list[bool]]:
    features = _features(uow, start)
    end = datetime.combine(start + timedelta(days=horizon), time(0), tzinfo=UTC)
    buyers = uow.analytics.buyers_between(datetime.combine(start, time(0), tzinfo=UTC), end)
    ids = sorted(features)
    return ids, [features[i] for i in ids], [i not in buyers for i in ids]


def score_churn(
    uow: UnitOfWork, *, as_of: date | None = None, horizon_days: int = 90
) -> dict[str, Any]:
    """Check the model on the last complete window, retrain on it, score everyone now."""
    as_of = analysis_day(as_of, "as_of")
    if not 7 <= horizon_days <= 730:
        raise ValidationFailed(
            "The horizon is out of range.",
            errors=[FieldError("horizon_days", "between 7 and 730 days", "out_of_range")],
        )
    check_start = as_of - timedelta(days=horizon_days)
    train_start = check_start - timedelta(days=horizon_days)
    _, train_rows, train_labels = _window(uow, train_start, horizon_days)
    _, check_rows, check_labels = _window(uow, check_start, horizon_days)
    for name, labels in (("training", train_labels), ("check", check_labels)):
        if len(labels) < 50 or len(set(labels)) < 2:
            raise ValidationFailed(
                "Too little history for a churn model.",
                errors=[
                    FieldError(
                        "transactions",
                        f"the {name} window needs 50 customers with "
                        "orders, some who came back and some who did not",
                    )
                ],
            )
    report = evaluate(ChurnModel.fit(train_rows, train_labels), check_rows, check_labels)
    model = ChurnModel.fit(check_rows, check_labels)
    now = _features(uow, as_of + timedelta(days=1))
    ids = sorted(now)
    rows = [now[i] for i in ids]
    scores = model.scores(rows)
    reasons = model.reasons(rows)
    written = [
        {
            "customer_id": i,
            "churn_score": round(float(s), 4),
            "churn_reasons": r,
            "churn_as_of": as_of,
        }
        for i, s, r in zip(ids, scores, reasons, strict=True)
    ]
    uow.analytics.replace_scores(written, CHURN_COLUMNS)
    return {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "scored": len(written),
        "check": {
            "trained_on": train_start.isoformat(),
            "evaluated_on": check_start.isoformat(),
            **report,
        },
    }
