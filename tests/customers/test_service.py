"""Customer use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clientela.attributes.service import define_attribute, delete_attribute
from clientela.customers import service
from clientela.domain.attributes import AttributeDefinition, AttributeType, Category, Sensitivity
from clientela.domain.errors import Conflict, NotFound, ValidationFailed
from clientela.domain.ids import new_id
from clientela.settings import Settings
from clientela.sources.service import source_id
from clientela.storage.store import Store
from tests.factories import actor, cpf, customer_payload, stored_customer

ACTOR = actor()


def count(store: Store) -> int:
    with store.unit_of_work(write=False) as uow:
        return uow.customers.count()


def test_create_then_get(store: Store, settings: Settings) -> None:
    created = stored_customer(
        store,
        settings,
        document="529.982.247-25",
        full_name="maria DA silva",
        given_name=...,
        family_name=...,
    )
    with store.unit_of_work() as uow:
        profile = service.get_customer(uow, created["id"], actor=ACTOR, settings=settings)
    assert profile["full_name"] == "Maria da Silva"
    assert profile["document"] == "52998224725"
    assert {i["kind"] for i in profile["identities"]} == {"email", "phone", "document"}
    assert profile["counts"] == {"events": 0, "transactions": 0}


def test_invalid_input_writes_nothing(store: Store, settings: Settings) -> None:
    with pytest.raises(ValidationFailed) as caught, store.unit_of_work() as uow:
        service.create_customer(
            uow, customer_payload(email="broken", phone="12"), actor=ACTOR, settings=settings
        )
        uow.commit()
    assert {e.field for e in caught.value.errors} == {"email", "phone"}
    assert count(store) == 0


def test_duplicate_identity_names_the_existing_customer(store: Store, settings: Settings) -> None:
    first = stored_customer(store, settings, email="dup@example.com")
    with pytest.raises(Conflict) as caught, store.unit_of_work() as uow:
        service.create_customer(
            uow, customer_payload(email="DUP@example.com"), actor=ACTOR, settings=settings
        )
    assert caught.value.extra["existing_customer_ids"] == [first["id"]]
    assert "dup@example.com" not in caught.value.detail
    assert count(store) == 1


def test_update_clears_renames_and_records_provenance(store: Store, settings: Settings) -> None:
    created = stored_customer(store, settings)
    with store.unit_of_work() as uow:
        updated = service.update_customer(
            uow,
            created["id"],
            {"given_name": "Beatriz", "city": None},
            actor=ACTOR,
            settings=settings,
            expected_version=1,
        )
        uow.commit()
    assert updated["full_name"].startswith("Beatriz ")
    assert updated["city"] is None
    assert updated["version"] == 2
    with store.unit_of_work() as uow:
        found = service.search_customers(uow, "beat", actor=ACTOR, settings=settings)
        history = uow.provenance.for_customer(created["id"])
    assert [r["id"] for r in found] == [created["id"]]
    assert history[-1]["fields"] == {
        "given_name": "Beatriz",
        "city": None,
        "full_name": updated["full_name"],
    }
    assert len(history) == 2


def test_update_with_stale_version_is_refused(store: Store, settings: Settings) -> None:
    created = stored_customer(store, settings)
    with pytest.raises(Conflict), store.unit_of_work() as uow:
        service.update_customer(
            uow,
            created["id"],
            {"city": "Recife"},
            actor=ACTOR,
            settings=settings,
            expected_version=7,
        )


def test_update_cannot_take_anothers_identity(store: Store, settings: Settings) -> None:
    first = stored_customer(store, settings)
    second = stored_customer(store, settings)
    with pytest.raises(Conflict) as caught, store.unit_of_work() as uow:
        service.update_customer(
            uow, second["id"], {"email": first["email"]}, actor=ACTOR, settings=settings
        )
    assert caught.value.errors[0].field == "email"


def test_new_email_is_added_as_identity_and_old_one_still_finds(
    store: Store, settings: Settings
) -> None:
    created = stored_customer(store, settings)
    with store.unit_of_work() as uow:
        service.update_customer(
            uow, created["id"], {"email": "new@example.com"}, actor=ACTOR, settings=settings
        )
        uow.commit()
    with store.unit_of_work() as uow:
        by_old = service.lookup_customer(
            uow, "email", created["email"], actor=ACTOR, settings=settings
        )
        by_new = service.lookup_customer(
            uow, "email", "NEW@example.com", actor=ACTOR, settings=settings
        )
    assert by_old["id"] == by_new["id"] == created["id"]
    assert by_new["email"] == "new@example.com"


def test_search_by_every_kind_of_key(store: Store, settings: Settings) -> None:
    document = cpf(7)
    created = stored_customer(
        store,
        settings,
        given_name="João",
        family_name="Conceição",
        phone="(21) 99876-5432",
        document=document,
    )
    stored_customer(store, settings, given_name="Joana", family_name="Prado")
    with store.unit_of_work() as uow:

        def ids(q: str) -> list[str]:
            return [
                r["id"] for r in service.search_customers(uow, q, actor=ACTOR, settings=settings)
            ]

        assert ids("joao conc") == [created["id"]]
        assert len(ids("jo")) == 2
        assert ids(created["email"].upper()) == [created["id"]]
        assert ids("+55 21 99876-5432") == [created["id"]]
        assert ids("21998765432") == [created["id"]]
        assert ids(f"{document[:3]}.{document[3:6]}.{document[6:9]}-{document[9:]}") == [
            created["id"]
        ]
        assert ids("nobody") == []


def test_list_pages_cover_everyone_once(store: Store, settings: Settings) -> None:
    made = {stored_customer(store, settings)["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    with store.unit_of_work() as uow:
        while True:
            page = service.list_customers(
                uow, actor=ACTOR, settings=settings, limit=3, cursor=cursor
            )
            seen.extend(p["id"] for p in page.data)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert sorted(seen) == sorted(made)
    assert seen == sorted(seen)


def test_delete_removes_everything_of_the_person(store: Store, settings: Settings) -> None:
    created = stored_customer(store, settings)
    with store.unit_of_work() as uow:
        service.delete_customer(uow, created["id"], actor=ACTOR, settings=settings)
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            service.get_customer(uow, created["id"], actor=ACTOR, settings=settings)
        assert uow.identities.owner_of("email", created["email"]) is None
        assert uow.provenance.for_customer(created["id"]) == []
    stored_customer(store, settings, email=created["email"])  # the identity is free again


def test_bulk_create_keeps_valid_rows_and_reports_the_rest(
    store: Store, settings: Settings
) -> None:
    taken = stored_customer(store, settings)
    records = [
        customer_payload(),
        customer_payload(email="not-an-email"),
        customer_payload(email="same@example.com"),
        customer_payload(email="same@example.com"),
        customer_payload(email=taken["email"]),
    ]
    with store.unit_of_work() as uow:
        result = service.create_customers(
            uow, records, actor=ACTOR, settings=settings, source="api"
        )
        uow.commit()
    assert len(result.created) == 2
    assert [(r.index, r.status, r.errors[0].code) for r in result.rejected] == [
        (1, 422, "invalid_email"),
        (3, 409, "duplicate_in_batch"),
        (4, 409, "identity_taken"),
    ]
    assert count(store) == 3


def test_timeline_is_newest_first_and_pages(store: Store, settings: Settings) -> None:
    created = stored_customer(store, settings)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with store.unit_of_work() as uow:
        demo = source_id(uow, "demo")
        uow.events.insert_many(
            [
                {
                    "id": new_id(),
                    "customer_id": created["id"],
                    "source_id": demo,
                    "message_id": f"m{i}",
                    "type": "track",
                    "name": f"E{i}",
                    "anonymous_id": None,
                    "user_id": None,
                    "properties": {"i": i},
                    "context": {},
                    "occurred_at": start + timedelta(days=i),
                    "received_at": start,
                    "sent_at": None,
                }
                for i in range(5)
            ]
        )
        uow.transactions.insert_many(
            [
                {
                    "id": new_id(),
                    "customer_id": created["id"],
                    "source_id": demo,
                    "order_id": "O1",
                    "status": "completed",
                    "occurred_at": start + timedelta(days=2, hours=1),
                    "amount_minor": 12345,
                    "refunded_minor": 0,
                    "currency": "BRL",
                    "items": [],
                    "channel": "web",
                    "payment_method": "pix",
                    "event_id": None,
                    "created_at": start,
                    "updated_at": start,
                }
            ]
        )
        uow.customers.refresh_activity([created["id"]])
        uow.commit()
    names: list[str | None] = []
    cursor = None
    with store.unit_of_work() as uow:
        while True:
            page = service.timeline(
                uow, created["id"], actor=ACTOR, settings=settings, limit=2, cursor=cursor
            )
            names.extend(entry["name"] for entry in page.data)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        profile = service.get_customer(uow, created["id"], actor=ACTOR, settings=settings)
    assert names == ["E4", "E3", "O1", "E2", "E1", "E0"]
    assert profile["order_count"] == 1
    assert profile["total_revenue"] == 123.45
    assert profile["event_count"] == 5
    assert profile["last_seen_at"] == start + timedelta(days=4)


def test_reads_are_audited_with_field_names_not_values(store: Store, settings: Settings) -> None:
    created = stored_customer(store, settings)
    with store.unit_of_work() as uow:
        service.get_customer(uow, created["id"], actor=ACTOR, settings=settings)
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        entries = uow.audit.for_customer(created["id"])
    assert [e["action"] for e in entries] == ["customer.read", "customer.create"]
    assert "email" in entries[0]["fields"]
    assert created["email"] not in repr(entries)


def test_custom_attributes_must_be_declared(store: Store, settings: Settings) -> None:
    with pytest.raises(ValidationFailed), store.unit_of_work() as uow:
        service.create_customer(
            uow, customer_payload(attributes={"tier": "gold"}), actor=ACTOR, settings=settings
        )
    with store.unit_of_work() as uow:
        define_attribute(
            uow,
            AttributeDefinition(
                "tier",
                AttributeType.ENUM,
                Category.BEHAVIOURAL,
                Sensitivity.PERSONAL,
                enum_values=("gold",),
            ),
            actor=ACTOR,
        )
        uow.commit()
    created = stored_customer(store, settings, attributes={"tier": "gold"})
    assert created["attributes"] == {"tier": "gold"}
    with pytest.raises(Conflict), store.unit_of_work() as uow:
        delete_attribute(uow, "tier", actor=ACTOR)
