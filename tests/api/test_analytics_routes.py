"""The analytics API: runs, results, and one person's scores."""

from __future__ import annotations

from typing import Any

from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.analytics.test_rfm import _orders


def test_rfm_run_then_a_persons_scores(api: Any, store: Store, settings: Settings) -> None:
    person = factories.stored_customer(store, settings)["id"]
    other = factories.stored_customer(store, settings)["id"]
    _orders(store, person, [1, 20, 40], 10_000)
    _orders(store, other, [300], 1_000)
    run = api.post("/api/v1/analytics/rfm", json={"as_of": "2026-06-30"})
    assert run.status_code == 200, run.text
    assert run.json()["customers"] == 2
    scores = api.get(f"/api/v1/customers/{person}/scores").json()
    assert scores["rfm_segment"] is not None and scores["rfm_frequency"] == 3
    missing = api.get("/api/v1/customers/00000000-0000-7000-8000-000000000000/scores")
    assert missing.status_code == 404
    cohorts = api.get("/api/v1/analytics/cohorts", params={"until": "2026-06-30"}).json()
    assert sum(c["customers"] for c in cohorts["cohorts"]) == 2
    too_few = api.post("/api/v1/analytics/clv/fit", json={"until": "2026-06-30"})
    assert too_few.status_code == 422
    assert too_few.json()["errors"][0]["field"] == "transactions"
    wrong = api.post("/api/v1/analytics/churn", json={"horizon_days": 3})
    assert wrong.status_code == 422
