"""Duplicate detection runs against the store: merges, the review queue, incremental runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clientela.customers.service import create_customers
from clientela.dedupe.review import decide, list_candidates
from clientela.dedupe.service import run_dedupe
from clientela.domain.actor import utcnow
from clientela.settings import Settings
from clientela.storage.store import Store
from tests.factories import actor, people_with_duplicates

ACTOR = actor()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"dedupe_u_max_pairs": 2e5})


def merged_pairs(store: Store) -> set[tuple[str, str]]:
    with store.unit_of_work(write=False) as uow:
        rows = uow.customers.list_page(after_id=None, limit=10_000, status="merged")
        found = set()
        for row in rows:
            survivor = row["merged_into"]
            found.add(tuple(sorted((row["id"], survivor))))
    return found  # type: ignore[return-value]


def test_auto_merge_finds_near_duplicates_without_false_merges(
    store: Store, fast: Settings
) -> None:
    _, truth = people_with_duplicates(store, fast)
    summary = run_dedupe(store, settings=fast, actor=ACTOR, auto_merge=True)
    assert summary.trained and summary.model_version == 1
    merged = merged_pairs(store)
    assert merged, "some duplicates should be sure enough to merge"
    assert merged <= truth  # precision: every merge joined one person
    with store.unit_of_work(write=False) as uow:
        pending, _ = list_candidates(uow, status="pending", limit=1000)
    found = merged | {(c["left_id"], c["right_id"]) for c in pending}
    assert len(found & truth) / len(truth) >= 0.8
    # Each queued pair explains itself field by field.
    for candidate in pending:
        assert candidate["explanation"]
        assert all(
            "level" in part and "weight" in part for part in candidate["explanation"].values()
        )


def test_review_decisions_are_respected_by_the_next_run(store: Store, fast: Settings) -> None:
    people_with_duplicates(store, fast)
    first = run_dedupe(store, settings=fast, actor=ACTOR)
    assert first.queued > 1
    with store.unit_of_work(write=False) as uow:
        pending, _ = list_candidates(uow, status="pending", limit=1000)
    rejected, accepted = pending[0], pending[1]
    with store.unit_of_work() as uow:
        decide(uow, rejected["id"], accept=False, actor=ACTOR, settings=fast)
        decided = decide(uow, accepted["id"], accept=True, actor=ACTOR, settings=fast)
        uow.commit()
    assert decided["status"] == "merged" and decided["merge_id"]
    again = run_dedupe(store, settings=fast, actor=ACTOR, auto_merge=True)
    assert again.trained is False  # the saved model is reused
    with store.unit_of_work(write=False) as uow:
        row = uow.matches.get(rejected["id"])
        assert row is not None and row["status"] == "rejected"
        still_pending, _ = list_candidates(uow, status="pending", limit=1000)
    assert rejected["id"] not in {c["id"] for c in still_pending}
    assert tuple(sorted((rejected["left_id"], rejected["right_id"]))) not in merged_pairs(store)


def test_profiles_in_the_review_queue_lose_their_uniqueness_score(
    store: Store, fast: Settings
) -> None:
    ids, _ = people_with_duplicates(store, fast)
    run_dedupe(store, settings=fast, actor=ACTOR)
    with store.unit_of_work(write=False) as uow:
        pending, _ = list_candidates(uow, status="pending", limit=1000)
        queued = {c["left_id"] for c in pending} | {c["right_id"] for c in pending}
        rows = {row["id"]: row for row in uow.customers.get_many(list(ids.values()))}
    assert queued and set(rows) - queued
    for customer_id, row in rows.items():
        expected = 0.0 if customer_id in queued else 1.0
        assert row["quality"]["parts"]["uniqueness"] == expected, customer_id


def test_incremental_run_scores_only_pairs_with_new_profiles(store: Store, fast: Settings) -> None:
    ids, _ = people_with_duplicates(store, fast)
    run_dedupe(store, settings=fast, actor=ACTOR)
    since = utcnow() - timedelta(milliseconds=1)
    with store.unit_of_work(write=False) as uow:
        original = uow.customers.get(ids[0])
    assert original is not None
    twin: dict[str, Any] = {
        key: original[key]
        for key in (
            "given_name",
            "family_name",
            "birth_date",
            "address_line1",
            "city",
            "postal_code",
            "country",
        )
        if original.get(key)
    }
    twin["email"] = "outra.pessoa.teste@example.org"
    with store.unit_of_work() as uow:
        created = create_customers(uow, [twin], actor=ACTOR, settings=fast, source="api")
        uow.commit()
    summary = run_dedupe(store, settings=fast, actor=ACTOR, since=since)
    assert summary.mode == "incremental" and summary.new_profiles == 1
    with store.unit_of_work(write=False) as uow:
        pending, _ = list_candidates(uow, status="pending", limit=1000)
    pairs = {(c["left_id"], c["right_id"]) for c in pending}
    assert tuple(sorted((ids[0], created.created[0]))) in pairs
