"""Recommendations over the store's orders: stored per person, never a product they bought;
through the API and the command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from clientela.analytics.recommend import compute_recommendations
from clientela.cli.main import app
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories

AS_OF = date(2026, 6, 30)
NOON = datetime(2026, 6, 30, 12, tzinfo=UTC)


def _basket(*products: str) -> list[dict[str, Any]]:
    return [{"product_id": p, "quantity": 1} for p in products]


def test_each_customer_gets_products_they_do_not_have(store: Store, settings: Settings) -> None:
    people = [factories.stored_customer(store, settings)["id"] for _ in range(5)]
    baskets = [
        [_basket("coffee", "filter"), _basket("mug")],
        [_basket("coffee"), _basket("filter", "mug")],
        [_basket("coffee")],
        [_basket("tea"), _basket("honey")],
        [[{"sku": "tea"}]],  # a SKU instead of a product id
    ]
    for person, orders in zip(people, baskets, strict=True):
        factories.stored_orders(
            store,
            person,
            [(NOON - timedelta(days=10 * k), 5_000, items) for k, items in enumerate(orders)],
        )
    factories.stored_orders(
        store, people[2], [(NOON, 9_000, _basket("caviar"))], status="refunded"
    )  # refunded orders do not count
    with store.unit_of_work() as uow:
        result = compute_recommendations(uow, as_of=AS_OF, top=2)
        uow.commit()
    assert result["customers"] == 5
    assert result["products"] == 5
    assert result["evaluation"]["people"] >= 1
    with store.unit_of_work(write=False) as uow:
        scores = {p: uow.analytics.scores_of(p) for p in people}
    third = [r["product"] for r in scores[people[2]]["recommendations"]]  # type: ignore[index]
    assert third == ["filter", "mug"]
    fifth = [r["product"] for r in scores[people[4]]["recommendations"]]  # type: ignore[index]
    assert fifth[0] == "honey"
    assert scores[people[4]]["recommendations_as_of"] == AS_OF  # type: ignore[index]


def test_api_and_cli(api: Any, store: Store, settings: Settings, cli: CliRunner) -> None:
    person = factories.stored_customer(store, settings)["id"]
    other = factories.stored_customer(store, settings)["id"]
    factories.stored_orders(store, person, [(NOON, 1_000, _basket("a", "b"))])
    factories.stored_orders(store, other, [(NOON, 1_000, _basket("a"))])
    answer = api.post("/api/v1/analytics/recommendations", json={"as_of": "2026-06-30", "top": 3})
    assert answer.status_code == 200, answer.text
    assert answer.json()["customers"] == 2
    scores = api.get(f"/api/v1/customers/{other}/scores").json()
    assert scores["recommendations"][0]["product"] == "b"

    assert cli.invoke(app, ["init", "--demo", "--customers", "80", "--seed", "5"]).exit_code == 0
    ran = cli.invoke(app, ["analytics", "recommend", "--top", "5"])
    assert ran.exit_code == 0, ran.output
    figures = json.loads(ran.stdout)
    assert figures["customers"] > 0
    assert set(figures["evaluation"]) >= {"hit_rate", "baseline_hit_rate", "people"}
