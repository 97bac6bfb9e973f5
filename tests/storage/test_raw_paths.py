"""The driver-level paths store and read values exactly as SQLAlchemy's column types do."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from clientela.domain.ids import new_id
from clientela.storage import raw
from clientela.storage.bulk import insert_rows, update_rows
from clientela.storage.errors import StaleWrite
from clientela.storage.store import Store
from clientela.storage.tables import customers


def test_bulk_insert_and_raw_select_agree_with_sqlalchemy(store: Store) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    row = {
        "id": new_id(),
        "status": "active",
        "created_at": moment,
        "updated_at": moment,
        "version": 1,
        "full_name": "Зоя Çelik",
        "birth_date": date(1990, 2, 28),
        "interests": ["café", "чай"],
        "attributes": {"tier": "gold", "n": 3, "ok": True},
        "event_count": 0,
        "order_count": 0,
        "total_revenue_minor": 0,
    }
    with store.unit_of_work() as uow:
        insert_rows(uow.customers.connection, customers, [row], {})
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        fast = raw.select_rows(uow.customers.connection, customers, '"id" = ?', (row["id"],))[0]
        slow = dict(
            uow.customers.connection.execute(select(customers).where(customers.c.id == row["id"]))
            .mappings()
            .one()
        )
    assert fast == slow
    for key, value in row.items():
        assert fast[key] == value, key
    assert fast["created_at"].tzinfo is not None


def test_a_streaming_cursor_reads_in_batches_server_side_on_postgresql(store: Store) -> None:
    """psycopg's ordinary cursor holds the whole result after ``execute``: a scan of every
    profile must come through a server-side cursor there instead."""
    sql = "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 ORDER BY 1"
    with store.unit_of_work(write=False) as uow:
        connection = uow.customers.connection
        db = raw.streaming_cursor(connection, "clientela_test_stream")
        try:
            db.execute(raw.placeholders(connection, sql))
            batches = [db.fetchmany(2), db.fetchmany(2), db.fetchmany(2)]
            server_side = type(db).__name__ == "ServerCursor"
        finally:
            db.close()
    assert [[tuple(row) for row in batch] for batch in batches] == [[(1,), (2,)], [(3,)], []]
    assert server_side is (store.engine.dialect.name == "postgresql")


def _customer_row(**values: object) -> dict[str, object]:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    return {
        "id": new_id(),
        "status": "active",
        "created_at": moment,
        "updated_at": moment,
        "version": 1,
        "event_count": 0,
        "order_count": 0,
        "total_revenue_minor": 0,
        "attributes": {},
        **values,
    }


def test_bulk_update_converts_values_and_counts_the_rows_it_changed(store: Store) -> None:
    first, second = _customer_row(), _customer_row()
    later = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    with store.unit_of_work() as uow:
        connection = uow.customers.connection
        insert_rows(connection, customers, [first, second], {})
        changed = update_rows(
            connection,
            customers,
            ("version", "updated_at", "birth_date", "attributes", "full_name"),
            ("id", "version"),
            [
                (2, later, date(1980, 1, 2), {"tier": "gold"}, "Ana", first["id"], 1),
                # a stale expected version matches nothing
                (2, later, None, {}, "Bo", second["id"], 7),
            ],
        )
        uow.commit()
    assert changed == 1
    with store.unit_of_work(write=False) as uow:
        rows = {
            row["id"]: row
            for row in uow.customers.connection.execute(select(customers)).mappings().all()
        }
    assert rows[first["id"]]["updated_at"] == later
    assert rows[first["id"]]["birth_date"] == date(1980, 1, 2)
    assert rows[first["id"]]["attributes"] == {"tier": "gold"}
    assert (rows[first["id"]]["version"], rows[first["id"]]["full_name"]) == (2, "Ana")
    assert (rows[second["id"]]["version"], rows[second["id"]]["full_name"]) == (1, None)


def test_a_stale_version_fails_a_whole_batch_of_profile_updates(store: Store) -> None:
    first, second = _customer_row(), _customer_row()
    with store.unit_of_work() as uow:
        insert_rows(uow.customers.connection, customers, [first, second], {})
        uow.commit()
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.customers.update_versions(
            [(first["id"], {"given_name": "Ana"}, 1, 2), (second["id"], {"given_name": "Bo"}, 3, 4)]
        )
    with store.unit_of_work(write=False) as uow:
        assert [row["version"] for row in uow.customers.get_many([first["id"], second["id"]])] == [
            1,
            1,
        ]


def test_many_profiles_are_read_in_the_order_asked_past_one_in_list(store: Store) -> None:
    rows = [_customer_row(email=f"p{n}@example.com") for n in range(raw.IN_LIST_SIZE + 5)]
    with store.unit_of_work() as uow:
        uow.customers.insert_many(rows)
        uow.commit()
    wanted = [row["id"] for row in reversed(rows)] + [rows[0]["id"], "missing"]
    with store.unit_of_work(write=False) as uow:
        found = uow.customers.get_many(wanted)
    assert [row["id"] for row in found] == wanted[:-1]
    assert found[-1]["email"] == "p0@example.com"  # opened, not the sealed value
