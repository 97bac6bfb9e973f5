"""Reads are audited durably without taking the write lock per read."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection

from clientela.audit.service import record, verify_chain
from clientela.storage.group_commit import _coalesced
from clientela.storage.repositories.access import AuditAppend
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


def test_reads_flushed_together_share_one_chain_append(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit entries of concurrent reads on the event loop are joined into one append: one
    read of the chain's head, consecutive numbers, a chain that verifies."""
    appends: list[int] = []
    original = AuditAppend.__call__

    def counting(self: AuditAppend, connection: Connection) -> None:
        appends.append(len(self.rows))
        original(self, connection)

    monkeypatch.setattr(AuditAppend, "__call__", counting)

    async def read(n: int) -> None:
        with store.unit_of_work(write=False) as uow:
            record(uow, actor(), "customer.read", ["c-4"], [f"field{n}"])
            operations = uow.end_read()
        await store.flush_async(operations)

    async def all_reads() -> None:
        await asyncio.gather(*(read(n) for n in range(16)))

    asyncio.run(all_reads())
    assert appends == [16]
    with store.unit_of_work(write=False) as uow:
        numbers = sorted(int(e["seq"]) for e in uow.audit.for_customer("c-4", limit=100))
        assert numbers == list(range(numbers[0], numbers[0] + 16))
        assert verify_chain(uow).ok


def test_coalescing_keeps_other_operations_in_order() -> None:
    calls: list[str] = []

    class Join:
        def __init__(self, key: str, items: list[str]) -> None:
            self.coalesce_key = key
            self.items = items

        def __call__(self, connection: object) -> None:
            calls.append(f"{self.coalesce_key}:{'+'.join(self.items)}")

        def coalesced(self, others: list[Join]) -> Join:
            return Join(self.coalesce_key, [i for o in others for i in o.items])

    def plain(name: str) -> object:
        return lambda connection: calls.append(name)

    operations = [plain("p1"), Join("a", ["1"]), plain("p2"), Join("b", ["x"]), Join("a", ["2"])]
    for operation in _coalesced(operations):  # type: ignore[arg-type]
        operation(None)  # type: ignore[arg-type]
    assert calls == ["p1", "a:1+2", "p2", "b:x"]
