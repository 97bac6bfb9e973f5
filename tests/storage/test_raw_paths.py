"""The driver-level paths store and read values exactly as SQLAlchemy's column types do."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from clientela.domain.ids import new_id
from clientela.storage import raw
from clientela.storage.bulk import insert_rows
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
