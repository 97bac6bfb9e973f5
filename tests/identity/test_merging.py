"""Merge with survivorship, and unmerge back to exactly what was there."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clientela.customers import service
from clientela.domain.errors import Conflict
from clientela.identity.merging import NOT_PROFILE, merge_profiles, unmerge
from clientela.settings import Settings
from clientela.storage.store import Store
from tests.factories import actor, stored_customer

ACTOR = actor()


def create(store: Store, settings: Settings, **fields: Any) -> str:
    return str(stored_customer(store, settings, **fields)["id"])


def state(store: Store, customer_id: str) -> dict[str, Any]:
    """Everything of a person: the row, identities, provenance and event ids."""
    with store.unit_of_work(write=False) as uow:
        return {
            "row": uow.customers.get(customer_id),
            "identities": sorted(
                (i["kind"], i["value"], i["id"]) for i in uow.identities.for_customer(customer_id)
            ),
            "provenance": [p["id"] for p in uow.provenance.for_customer(customer_id)],
        }


def merge(store: Store, survivor: str, merged: str) -> str:
    with store.unit_of_work() as uow:
        merge_id = merge_profiles(uow, survivor, merged, reason="manual", actor=ACTOR)
        uow.commit()
    return merge_id


def undo(store: Store, merge_id: str) -> Any:
    with store.unit_of_work() as uow:
        result = unmerge(uow, merge_id, actor=ACTOR)
        uow.commit()
    return result


def test_merge_unions_identities_and_unmerge_restores_both(
    store: Store, settings: Settings
) -> None:
    a = create(store, settings, city="Recife", occupation="Engenheira")
    b = create(store, settings, city=..., phone=..., occupation=...)
    before_a, before_b = state(store, a), state(store, b)
    merge_id = merge(store, a, b)
    merged_state = state(store, a)
    assert {i[0] for i in merged_state["identities"]} == {"email", "phone"}
    assert len(merged_state["identities"]) == 3  # both e-mails and a's phone
    assert state(store, b)["row"]["status"] == "merged"
    result = undo(store, merge_id)
    assert result.kept_on_survivor == []
    assert state(store, a) == before_a
    assert state(store, b) == before_b


def test_unmerge_twice_is_refused(store: Store, settings: Settings) -> None:
    a, b = create(store, settings), create(store, settings)
    merge_id = merge(store, a, b)
    undo(store, merge_id)
    with pytest.raises(Conflict):
        undo(store, merge_id)


def test_unmerge_of_a_survivor_merged_again_names_the_later_merge(
    store: Store, settings: Settings
) -> None:
    a, b, c = (create(store, settings) for _ in range(3))
    first = merge(store, a, b)
    second = merge(store, c, a)
    with pytest.raises(Conflict) as caught:
        undo(store, first)
    assert caught.value.extra["merge_id"] == second
    undo(store, second)
    undo(store, first)
    assert state(store, b)["row"]["status"] == "active"


def test_merge_keeps_losing_values_in_provenance(store: Store, settings: Settings) -> None:
    a = create(store, settings, city="Recife", postal_code="50000-000")
    b = create(store, settings, city="Natal", postal_code="59000-000")
    merge(store, a, b)
    with store.unit_of_work(write=False) as uow:
        said = [p["fields"] for p in uow.provenance.for_customer(a)]
    assert any(s.get("city") == "Recife" for s in said)
    assert any(s.get("city") == "Natal" for s in said)


def test_address_survives_as_a_whole(store: Store, settings: Settings) -> None:
    """The newest address wins as a unit: never one profile's city with another's postcode."""
    a = create(store, settings, city="Recife", postal_code="50000-000")
    b = create(store, settings, city="Natal", postal_code=...)
    merge(store, a, b)
    row = state(store, a)["row"]
    assert (row["city"], row["postal_code"]) in {("Recife", "50000-000"), ("Natal", None)}


names = st.sampled_from(["Ana", "João", "Maria", "Pedro", "Иван", "Olga"])
cities = st.sampled_from(["Recife", "Natal", "São Paulo", "Campinas"])
edits = st.fixed_dictionaries(
    {},
    optional={
        "city": cities,
        "occupation": st.sampled_from(["Professora", "Médico", "Artista"]),
        "given_name": names,
    },
)


#: A profile's fields, some left to the factory (``...``), some drawn.
profiles = st.fixed_dictionaries(
    {"given_name": names, "city": st.one_of(st.just(...), cities)},
    optional={
        "occupation": st.sampled_from(["Engenheira", "Advogado", "Professora"]),
        "phone": st.just(...),
        "birth_date": st.just("1985-01-02"),
    },
)
store_examples = hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@store_examples
@given(first=profiles, second=profiles, later=edits)
def test_merge_then_unmerge_restores_profiles_exactly(
    sqlite_store: Store,
    settings: Settings,
    first: dict[str, Any],
    second: dict[str, Any],
    later: dict[str, Any],
) -> None:
    store = sqlite_store
    a = create(store, settings, **first)
    b = create(store, settings, **second)
    before_a, before_b = state(store, a), state(store, b)
    merge_id = merge(store, a, b)
    merged = state(store, a)["row"]
    if later:
        with store.unit_of_work() as uow:
            service.update_customer(uow, a, later, actor=ACTOR, settings=settings)
            uow.commit()
    edited = state(store, a)["row"]
    result = undo(store, merge_id)
    after_a, after_b = state(store, a), state(store, b)
    assert after_b == before_b
    changed = {k for k, v in edited.items() if k not in NOT_PROFILE and merged.get(k) != v}
    assert set(result.kept_on_survivor) == changed
    # An edit stays an observation of the survivor, even one that changed nothing.
    assert after_a["provenance"][: len(before_a["provenance"])] == before_a["provenance"]
    if not changed:
        assert after_a["row"] == before_a["row"]
        assert after_a["identities"] == before_a["identities"]
        return
    assert after_a["identities"] == before_a["identities"]
    for key, value in after_a["row"].items():
        if key in changed:
            assert value == edited[key]
        elif key not in ("version", "updated_at", "field_observed"):
            assert value == before_a["row"][key], key
    assert after_a["row"]["version"] > merged["version"]


@store_examples
@given(
    first=profiles,
    second=profiles,
    rule=st.sampled_from(["most_recent", "most_trusted", "most_complete", "most_frequent"]),
)
def test_a_merge_never_loses_a_value(
    sqlite_store: Store,
    settings: Settings,
    first: dict[str, Any],
    second: dict[str, Any],
    rule: str,
) -> None:
    """Every value either profile held is in the golden record or in its provenance."""
    store = sqlite_store
    a = create(store, settings, **first)
    b = create(store, settings, **second)
    before = [state(store, a)["row"], state(store, b)["row"]]
    with store.unit_of_work() as uow:
        merge_profiles(
            uow, a, b, reason="manual", actor=ACTOR, rules={"name": rule, "address": rule}
        )
        uow.commit()
    after = state(store, a)["row"]
    with store.unit_of_work(write=False) as uow:
        said = [p["fields"] for p in uow.provenance.for_customer(a)]
    for row in before:
        for key, value in row.items():
            if key in NOT_PROFILE or value in (None, [], {}):
                continue
            kept = after.get(key) == value
            recorded = any(
                s.get(key) == (value.isoformat() if hasattr(value, "isoformat") else value)
                for s in said
            )
            assert kept or recorded, key
