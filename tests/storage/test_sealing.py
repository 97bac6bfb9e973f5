"""Field encryption in the store: personal fields sealed at rest, found by blind index, opened
for services, crypto-shredded by erasure, unchanged by a master-key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from clientela.customers.service import lookup_customer
from clientela.privacy.erasure import erase_person
from clientela.security.envelope import blind
from clientela.security.keyring import Keyring
from clientela.security.rotation import rotate_master_key
from clientela.settings import Settings
from clientela.storage.store import SEALED_META, Store
from clientela.storage.tables import customer_keys, customers, identities, store_meta
from tests import factories


def _raw_row(store: Store, customer_id: str) -> dict[str, object]:
    with store.engine.connect() as connection:
        row = connection.execute(select(customers).where(customers.c.id == customer_id))
        return dict(row.mappings().one())


def test_personal_fields_are_sealed_at_rest_and_open_for_services(
    store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(
        store, settings, document="529.982.247-25", address_line1="Rua Augusta, 1500"
    )
    raw = _raw_row(store, person["id"])
    for field in ("email", "phone", "document", "address_line1"):
        assert person[field]
        assert person[field] not in str(raw[field]), field
    assert raw["city"] == "São Paulo"  # not a sealed field
    with store.engine.connect() as connection:
        stored = {
            str(kind): (str(value), sealed)
            for kind, value, sealed in connection.execute(
                select(identities.c.kind, identities.c.value, identities.c.sealed).where(
                    identities.c.customer_id == person["id"]
                )
            )
        }
    assert stored["email"][0] != person["email"] and stored["email"][1] is not None
    with store.unit_of_work(write=False) as uow:
        again = uow.customers.get(person["id"])
        assert again is not None and again["email"] == person["email"]
        assert again["document"] == person["document"]
        owned = {row["kind"]: row["value"] for row in uow.identities.for_customer(person["id"])}
        assert owned["email"] == person["email"] and owned["phone"] == person["phone"]


def test_lookup_by_a_sealed_identity_goes_through_its_blind_index(
    store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(store, settings)
    with store.unit_of_work(write=False) as uow:
        found = lookup_customer(
            uow, "email", person["email"].upper(), actor=factories.actor(), settings=settings
        )
    assert found["id"] == person["id"]


def test_erasure_destroys_the_data_key(store: Store, settings: Settings) -> None:
    person = factories.stored_customer(store, settings)
    token = str(_raw_row(store, person["id"])["email"])
    with store.unit_of_work() as uow:
        erase_person(
            uow, person["id"], actor=factories.actor(), settings=settings, legal_basis="test"
        )
        uow.commit()
    with store.engine.connect() as connection:
        assert (
            connection.execute(
                select(customer_keys).where(customer_keys.c.key_id == person["id"])
            ).first()
            is None
        )
    with store.unit_of_work(write=False) as uow:
        assert uow.sealer is not None
        assert uow.sealer.open_field("email", token) is None  # a copy anywhere stays closed


def test_a_scan_opens_the_named_columns_and_an_erased_value_stays_closed(
    store: Store, settings: Settings
) -> None:
    kept = factories.stored_customer(store, settings)
    erased = factories.stored_customer(store, settings)
    kept_email = str(_raw_row(store, kept["id"])["email"])
    erased_email = str(_raw_row(store, erased["id"])["email"])
    with store.unit_of_work() as uow:
        erase_person(
            uow, erased["id"], actor=factories.actor(), settings=settings, legal_basis="test"
        )
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        assert uow.sealer is not None
        opened = uow.sealer.open_columns(
            [("a", kept_email, kept_email, None), ("b", erased_email, "plain", "")],
            {1: "email"},
        )
    # only position 1 is opened; a value sealed elsewhere in the row is left as it is
    assert opened == [["a", kept["email"], kept_email, None], ["b", None, "plain", ""]]


def test_rotation_rewraps_keys_and_the_old_master_no_longer_opens_the_store(
    tmp_path: Path, sqlite_store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(sqlite_store, settings)
    before = _raw_row(sqlite_store, person["id"])
    done = rotate_master_key(sqlite_store, tmp_path, actor=factories.actor())
    assert done.data_keys >= 1 and done.key_file.exists()
    assert _raw_row(sqlite_store, person["id"])["email"] == before["email"]  # no data rewrite
    new_master = Keyring(
        __import__("base64").urlsafe_b64decode(done.key_file.read_text().strip().encode())
    )
    url = sqlite_store.url
    sqlite_store.dispose()
    reopened = Store(url, keyring=new_master)
    try:
        with reopened.unit_of_work(write=False) as uow:
            row = uow.customers.get(person["id"])
            assert row is not None and row["email"] == person["email"]
    finally:
        reopened.dispose()
    stale = Store(url, keyring=factories.TEST_KEYRING)
    try:
        with pytest.raises(Exception, match="master key"):
            stale.keyring()
    finally:
        stale.dispose()


def test_a_store_from_before_field_encryption_is_sealed_on_upgrade(
    store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(store, settings)
    with store.engine.begin() as connection:  # as an older version stored it
        connection.execute(
            customers.update()
            .where(customers.c.id == person["id"])
            .values(email=person["email"], phone=person["phone"])
        )
        connection.execute(
            identities.update()
            .where(identities.c.customer_id == person["id"], identities.c.kind == "email")
            .values(value=person["email"], sealed=None)
        )
        connection.execute(store_meta.delete().where(store_meta.c.key == SEALED_META))
    store.upgrade()
    raw = _raw_row(store, person["id"])
    assert raw["email"] != person["email"] and raw["phone"] != person["phone"]
    with store.engine.connect() as connection:
        plain = connection.execute(
            text("SELECT count(*) FROM identities WHERE value = :v"), {"v": person["email"]}
        ).scalar_one()
    assert plain == 0
    with store.unit_of_work(write=False) as uow:
        found = lookup_customer(
            uow, "email", person["email"].upper(), actor=factories.actor(), settings=settings
        )
    assert found["email"] == person["email"]


def test_the_stored_blind_index_is_the_documented_construction(store: Store) -> None:
    with store.unit_of_work(write=False) as uow:
        assert uow.sealer is not None
        key = uow.keyring.derive("blind-index")
        assert uow.sealer.blind("email", "ana@example.com") == blind(
            key, "email", "ana@example.com", 16
        )
        assert uow.sealer.blind("user_id", "u-1") == "u-1"  # not personal: kept as is


def test_a_unit_of_work_computes_each_blind_index_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clientela.storage import sealing

    computed: list[str] = []

    def counted(index_key: object, kind: str, value: str, size: int) -> str:
        computed.append(value)
        return blind(index_key, kind, value, size)  # type: ignore[arg-type]

    monkeypatch.setattr(sealing, "blind", counted)
    with store.unit_of_work(write=False) as uow:
        assert uow.sealer is not None
        first = uow.sealer.blind("email", "ana@example.com")
        assert uow.sealer.blind("email", "ana@example.com") == first
        assert uow.sealer.blind("phone", "ana@example.com") != first  # the kind is keyed in
    assert computed == ["ana@example.com", "ana@example.com"]
    with store.unit_of_work(write=False) as uow:  # a new unit of work starts afresh
        assert uow.sealer is not None
        assert uow.sealer.blind("email", "ana@example.com") == first
    assert len(computed) == 3


def test_one_sealing_of_a_value_serves_the_profile_and_its_identity(
    store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(store, settings)
    raw = _raw_row(store, person["id"])
    with store.engine.connect() as connection:
        sealed = dict(
            connection.execute(
                select(identities.c.kind, identities.c.sealed).where(
                    identities.c.customer_id == person["id"]
                )
            ).all()
        )
    assert sealed["email"] == raw["email"] and sealed["phone"] == raw["phone"]


def test_a_key_made_again_seals_anew(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.sealer is not None
        first = uow.sealer.seal_one("k-1", "email", "ana@example.com")
        assert uow.sealer.seal_one("k-1", "email", "ana@example.com") == first
        assert uow.sealer.seal_one("k-1", "phone", "ana@example.com") != first
        uow.sealer.shred(["k-1"])
        second = uow.sealer.seal_one("k-1", "email", "ana@example.com")
        assert second != first
        assert uow.sealer.open_field("email", second) == "ana@example.com"
        assert uow.sealer.open_field("email", first) is None  # shredded
