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
