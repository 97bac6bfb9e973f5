"""SQLite writers of one process take turns in arrival order (no polling for the lock)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import text

from clientela.storage.engine import WriterQueue
from clientela.storage.store import Store
from tests.storage.waiting import until

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _waiting(queue: WriterQueue) -> int:
    return len(queue._waiting)


def test_writers_take_turns_in_the_order_they_came(sqlite_store: Store) -> None:
    from clientela.storage.engine import _writer_queue

    queue = _writer_queue(sqlite_store.url)
    order: list[str] = []

    def write(name: str) -> None:
        with sqlite_store.unit_of_work() as uow:
            uow.store_meta.set(f"turn-{name}", name, NOW)
            order.append(name)
            uow.commit()

    with sqlite_store.unit_of_work() as first:
        first.store_meta.set("turn-first", "first", NOW)  # holds the turn
        writers = []
        for number, name in enumerate(["b", "c", "d"], start=1):
            writer = threading.Thread(target=write, args=(name,))
            writer.start()
            writers.append(writer)
            until(lambda number=number: _waiting(queue) == number)
        first.commit()
    for writer in writers:
        writer.join(timeout=30)
    assert order == ["b", "c", "d"]
    assert _waiting(queue) == 0


def test_the_turn_passes_on_after_a_rollback_and_after_an_invalidated_connection(
    sqlite_store: Store,
) -> None:
    with sqlite_store.unit_of_work() as uow:
        uow.store_meta.set("rolled-back", "x", NOW)  # never committed: __exit__ rolls back
    with sqlite_store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # a writer's BEGIN IMMEDIATE: takes the turn
        connection.invalidate()
    started = time.monotonic()
    with sqlite_store.unit_of_work() as uow:
        uow.store_meta.set("after", "y", NOW)
        uow.commit()
    assert time.monotonic() - started < 5  # not the 30 s a lost turn would cost


def test_a_waiter_whose_turn_does_not_come_goes_on_without_it() -> None:
    queue = WriterQueue()
    holder, latecomer = object(), object()
    queue.acquire(holder)
    queue.acquire(latecomer, timeout=0.05)  # gives up: SQLite's own busy wait decides next
    assert _waiting(queue) == 0
    queue.release(latecomer)  # it never held the turn: nothing happens
    third = object()
    released = threading.Event()

    def wait_for_turn() -> None:
        queue.acquire(third)
        released.set()

    threading.Thread(target=wait_for_turn).start()
    until(lambda: _waiting(queue) == 1)
    assert not released.is_set()
    queue.release(holder)
    assert released.wait(5)
    queue.release(third)
    assert not queue._busy
