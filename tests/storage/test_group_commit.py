"""Reads are audited durably without taking the write lock per read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from clientela.audit.service import record
from clientela.storage.store import Store
from tests.factories import actor


def _audit_count(store: Store, customer_id: str) -> int:
    with store.unit_of_work(write=False) as uow:
        return len(uow.audit.for_customer(customer_id, limit=10_000))


def test_read_unit_commit_makes_its_audit_entries_durable(store: Store) -> None:
    with store.unit_of_work(write=False) as uow:
        record(uow, actor(), "customer.read", ["c-1"], ["email"])
        assert _audit_count(store, "c-1") == 0  # not before commit
        uow.commit()
    assert _audit_count(store, "c-1") == 1


def test_read_unit_without_commit_writes_nothing(store: Store) -> None:
    with store.unit_of_work(write=False) as uow:
        record(uow, actor(), "customer.read", ["c-2"], ["email"])
    assert _audit_count(store, "c-2") == 0


def test_concurrent_readers_all_get_their_entries(store: Store) -> None:
    def read(n: int) -> None:
        with store.unit_of_work(write=False) as uow:
            record(uow, actor(), "customer.read", ["c-3"], [f"field{n}"])
            uow.commit()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(read, range(200)))
    assert _audit_count(store, "c-3") == 200
