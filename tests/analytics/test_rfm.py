"""RFM from the store's orders: scores and groups stored per person (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from clientela.analytics.rfm import compute_rfm
from clientela.domain.ids import new_id
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories

AS_OF = date(2026, 6, 30)


def _orders(store: Store, customer_id: str, days_ago: list[int], amount: int) -> None:
    with store.unit_of_work() as uow:
        source = uow.sources.get_by_name("api")
        assert source is not None
        now = datetime(2026, 6, 30, 12, tzinfo=UTC)
        uow.transactions.insert_many(
            [
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "source_id": source["id"],
                    "order_id": new_id(),
                    "status": "completed",
                    "occurred_at": now - timedelta(days=ago),
                    "amount_minor": amount,
                    "refunded_minor": 0,
                    "currency": "BRL",
                    "items": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for ago in days_ago
            ]
        )
        uow.commit()


def test_rfm_scores_and_groups(store: Store, settings: Settings) -> None:
    people = [factories.stored_customer(store, settings)["id"] for _ in range(10)]
    no_orders = factories.stored_customer(store, settings)["id"]
    # person i: last order i*30 days ago, i+1 orders... the first is the best on every axis
    for i, person in enumerate(people):
        _orders(store, person, [i * 30 + k for k in range(10 - i)], 10_000 * (10 - i))
    _orders(store, people[0], [400], 5_000)  # an old order changes nothing for recency
    with store.unit_of_work() as uow:
        result = compute_rfm(uow, as_of=AS_OF)
        uow.commit()
    assert result["customers"] == 10
    with store.unit_of_work(write=False) as uow:
        best = uow.analytics.scores_of(people[0])
        worst = uow.analytics.scores_of(people[-1])
        assert uow.analytics.scores_of(no_orders) is None
        counts = uow.analytics.segment_counts()
    assert best is not None and worst is not None
    assert (best["rfm_r"], best["rfm_f"], best["rfm_m"]) == (5, 5, 5)
    assert best["rfm_segment"] == "Champions"
    assert best["rfm_recency_days"] == 0 and best["rfm_frequency"] == 11
    assert (worst["rfm_r"], worst["rfm_f"]) == (1, 1)
    assert worst["rfm_segment"] == "Lost"
    assert sum(counts.values()) == 10
    # Scoring again later moves people, it does not add rows
    with store.unit_of_work() as uow:
        later = compute_rfm(uow, as_of=AS_OF + timedelta(days=400))
        uow.commit()
    assert later["customers"] == 10
