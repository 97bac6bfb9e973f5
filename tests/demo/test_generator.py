"""Demo data: deterministic, valid, in three locales, with near-duplicates."""

from __future__ import annotations

from datetime import date

from clientela.demo.generator import generate
from clientela.demo.service import load_demo
from clientela.domain.fields import ValidationContext, validate_changes
from clientela.settings import Settings
from clientela.storage.store import Store

AS_OF = date(2026, 11, 23)


def test_same_seed_same_data() -> None:
    one, two = generate(200, seed=5, as_of=AS_OF), generate(200, seed=5, as_of=AS_OF)
    assert one.customers == two.customers and one.orders == two.orders
    assert generate(200, seed=6, as_of=AS_OF).customers != one.customers


def test_people_pass_validation_across_locales() -> None:
    data = generate(400, seed=1, as_of=AS_OF)
    context = ValidationContext(region="BR", today=AS_OF)
    for person in data.customers:
        validate_changes(
            {k: v for k, v in person.items() if not k.startswith("_")}, context=context, registry={}
        )
    assert {p["locale"] for p in data.customers} == {"pt-BR", "en-US", "ru-RU"}
    assert 0.02 <= len(data.duplicates) / len(data.customers) <= 0.04
    assert {e["name"] for e in data.events} >= {
        "Signed Up",
        "Survey Answered",
        "Support Ticket Opened",
    }


def test_near_duplicates_share_no_identity_but_stay_close() -> None:
    data = generate(600, seed=2, as_of=AS_OF)
    for original, duplicate in data.duplicates:
        a, b = data.customers[original], data.customers[duplicate]
        assert a.get("email") != b.get("email")
        assert "document" not in b
        assert a["country"] == b["country"] and a["postal_code"] == b["postal_code"]


def test_load_demo_into_the_store(store: Store) -> None:
    summary = load_demo(store, Settings(), customers=120, seed=4, as_of=AS_OF)
    assert summary.customers + summary.rejected == 120
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == summary.customers
        assert len(uow.purposes.list()) == 5
