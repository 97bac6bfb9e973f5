"""Cohorts by first-order month (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from clientela.analytics.cohorts import cohort_matrix, save_cohorts, stored_cohorts
from clientela.analytics.overview import analytics_overview
from clientela.domain.ids import new_id
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


def _order(
    uow: object, customer_id: str, when: datetime, amount: int, status: str = "completed"
) -> dict:
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "source_id": uow.sources.get_by_name("api")["id"],  # type: ignore[attr-defined]
        "order_id": new_id(),
        "status": status,
        "occurred_at": when,
        "amount_minor": amount,
        "refunded_minor": 0,
        "currency": "BRL",
        "items": [],
        "created_at": when,
        "updated_at": when,
    }


def test_retention_and_revenue_by_first_month(store: Store, settings: Settings) -> None:
    a, b, c = (factories.stored_customer(store, settings)["id"] for _ in range(3))
    with store.unit_of_work() as uow:
        uow.transactions.insert_many(
            [
                _order(uow, a, datetime(2026, 1, 5, tzinfo=UTC), 1000),
                _order(uow, a, datetime(2026, 1, 20, tzinfo=UTC), 500),
                _order(uow, a, datetime(2026, 3, 2, tzinfo=UTC), 2000),
                _order(uow, b, datetime(2026, 1, 31, 23, tzinfo=UTC), 700),
                _order(uow, b, datetime(2026, 2, 1, tzinfo=UTC), 300, status="refunded"),
                _order(uow, c, datetime(2026, 2, 14, tzinfo=UTC), 900),
                _order(uow, c, datetime(2026, 3, 14, tzinfo=UTC), 100),
                _order(uow, c, datetime(2026, 4, 1, tzinfo=UTC), 100),  # after the end
            ]
        )
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        result = cohort_matrix(uow, until=date(2026, 3, 31))
    january, february = result["cohorts"]
    assert january == {
        "cohort": "2026-01",
        "customers": 2,
        "retention": [1.0, 0.0, 0.5],
        "active": [2, 0, 1],
        "revenue": [22.0, 0.0, 20.0],
    }
    assert february["cohort"] == "2026-02"
    assert february["retention"] == [1.0, 1.0]
    assert february["revenue"] == [9.0, 1.0]


def test_days_out_of_range_are_refused(store: Store) -> None:
    import pytest

    from clientela.analytics.churn import score_churn
    from clientela.analytics.rfm import compute_rfm
    from clientela.domain.errors import ValidationFailed

    with store.unit_of_work() as uow:
        for call, field in (
            (lambda: cohort_matrix(uow, until=date(1, 1, 1)), "until"),
            (lambda: compute_rfm(uow, as_of=date(9999, 1, 1)), "as_of"),
            (lambda: score_churn(uow, as_of=date(1, 1, 1)), "as_of"),
        ):
            with pytest.raises(ValidationFailed) as caught:
                call()
            assert caught.value.errors[0].field == field


def test_the_page_reads_the_matrix_of_the_last_saved_run(store: Store, settings: Settings) -> None:
    person = factories.stored_customer(store, settings)["id"]
    with store.unit_of_work() as uow:
        assert stored_cohorts(uow) is None  # nothing before the first run
        uow.transactions.insert_many([_order(uow, person, datetime(2026, 1, 5, tzinfo=UTC), 990)])
        saved = save_cohorts(uow, minor_per_major=100)
        uow.commit()
    with store.unit_of_work() as uow:
        later = factories.stored_customer(store, settings)["id"]
        uow.transactions.insert_many([_order(uow, later, datetime(2026, 2, 5, tzinfo=UTC), 10)])
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        kept = stored_cohorts(uow)
        overview = analytics_overview(uow)
    assert kept is not None and kept[0] == json.loads(json.dumps(saved))
    assert [c["cohort"] for c in overview["cohorts"]] == ["2026-01"]  # until recomputed
    assert overview["cohorts_computed_at"] == kept[1]
