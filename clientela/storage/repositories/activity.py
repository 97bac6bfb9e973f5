"""Events, transactions and field provenance: the history of a person."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)

from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.repositories._base import (
    Repository,
    epoch_day,
    translate_integrity_errors,
)
from clientela.storage.tables import events, field_provenance, sources, transactions


class ProvenanceRepository(Repository):
    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Observations, with the personal values in ``fields`` sealed under the customer's key."""
        sealed = self.sealer.seal_rows(
            [row["fields"] for row in rows], [str(row["customer_id"]) for row in rows]
        )
        insert_rows(
            self.connection,
            field_provenance,
            [{**row, "fields": fields} for row, fields in zip(rows, sealed, strict=True)],
            {"id": None},
        )

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        rows = [
            dict(row)
            for row in self.connection.execute(
                select(field_provenance)
                .where(field_provenance.c.customer_id == customer_id)
                .order_by(field_provenance.c.observed_at, field_provenance.c.id)
            ).mappings()
        ]
        return self._opened(rows)

    def first_sources(self) -> dict[str, str]:
        """customer id -> name of the source of the first thing said about them."""
        first = (
            select(func.min(field_provenance.c.id).label("id"))
            .group_by(field_provenance.c.customer_id)
            .subquery()
        )
        rows = self.connection.execute(
            select(field_provenance.c.customer_id, sources.c.name)
            .join(first, first.c.id == field_provenance.c.id)
            .join(sources, sources.c.id == field_provenance.c.source_id)
        )
        return {str(row[0]): str(row[1]) for row in rows}

    def for_customers(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every observation of these profiles with its source's name, oldest first."""
        ids = list(dict.fromkeys(customer_ids))
        rows: list[dict[str, Any]] = []
        for chunk, marks in raw.in_lists(ids):
            rows += raw.select_rows(
                self.connection, field_provenance, f'"customer_id" IN ({marks})', chunk
            )
        if not rows:
            return []
        names = dict(raw.fetch_all(self.connection, "SELECT id, name FROM sources", ()))
        rows.sort(key=lambda row: (row["observed_at"], row["id"]))
        for row in rows:
            row["source"] = names.get(row["source_id"])
        return self._opened(rows)

    def _opened(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        opened = self.sealer.open_rows(row["fields"] for row in rows)
        return [{**row, "fields": fields} for row, fields in zip(rows, opened, strict=True)]


class EventRepository(Repository):
    def known_message_ids(self, source_id: str, message_ids: Sequence[str]) -> set[str]:
        """Which of these message ids this source already sent (idempotent retries)."""
        return _already_stored(
            self.connection, events.c.message_id, events.c.source_id, source_id, message_ids
        )

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        with translate_integrity_errors():
            insert_rows(self.connection, events, rows, {})

    def of_customers(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every event of these people with its source name, oldest first."""
        return _with_source(self.connection, events, customer_ids)


class TransactionRepository(Repository):
    def get_by_order(self, source_id: str, order_id: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                select(transactions).where(
                    transactions.c.source_id == source_id, transactions.c.order_id == order_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def known_order_ids(self, source_id: str, order_ids: Sequence[str]) -> set[str]:
        return _already_stored(
            self.connection, transactions.c.order_id, transactions.c.source_id, source_id, order_ids
        )

    def update(self, transaction_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(transactions).where(transactions.c.id == transaction_id).values(**values)
        )

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        with translate_integrity_errors():
            insert_rows(self.connection, transactions, rows, {})

    def purchase_days(self, until: datetime) -> list[tuple[str, int, int]]:
        """(customer id, UTC day number since 1970-01-01, net amount in minor units) of kept
        orders before ``until``, by customer then time. The day is computed by the database,
        so no timestamps are built in Python."""
        day_number = epoch_day(self.dialect, transactions.c.occurred_at).label("day")
        query = (
            select(
                transactions.c.customer_id,
                day_number,
                transactions.c.amount_minor - transactions.c.refunded_minor,
            )
            .where(
                transactions.c.occurred_at < until,
                transactions.c.status.in_(("completed", "partially_refunded")),
            )
            .order_by(transactions.c.customer_id, transactions.c.occurred_at)  # the index order
        )
        return [
            (str(row[0]), int(row[1]), int(row[2] or 0))
            for row in self.connection.execute(query).all()
        ]

    def of_customers(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every order of these people with its source name, oldest first."""
        return _with_source(self.connection, transactions, customer_ids)


class TimelineRepository(Repository):
    """Events and orders of one person, newest first, as one keyset-paginated stream."""

    def page(
        self,
        customer_id: str,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
        kinds: Sequence[str] = ("event", "order"),
    ) -> list[dict[str, Any]]:
        parts = []
        if "event" in kinds:
            parts.append(
                select(
                    literal("event").label("entry"),
                    events.c.id,
                    events.c.occurred_at,
                    events.c.type,
                    events.c.name,
                    events.c.properties.label("details"),
                    literal(None).label("amount_minor"),
                    literal(None).label("currency"),
                    literal(None).label("status"),
                ).where(events.c.customer_id == customer_id)
            )
        if "order" in kinds:
            parts.append(
                select(
                    literal("order").label("entry"),
                    transactions.c.id,
                    transactions.c.occurred_at,
                    literal("order").label("type"),
                    transactions.c.order_id.label("name"),
                    transactions.c["items"].label("details"),
                    transactions.c.amount_minor,
                    transactions.c.currency,
                    transactions.c.status,
                ).where(transactions.c.customer_id == customer_id)
            )
        if not parts:
            return []
        stream = union_all(*parts).subquery()
        query = select(stream)
        if before is not None:
            at, entry_id = before
            query = query.where(
                or_(
                    stream.c.occurred_at < at,
                    and_(stream.c.occurred_at == at, stream.c.id < entry_id),
                )
            )
        query = query.order_by(stream.c.occurred_at.desc(), stream.c.id.desc()).limit(limit)
        return [dict(row) for row in self.connection.execute(query).mappings()]


def _already_stored(
    connection: Connection,
    column: ColumnElement[str],
    source_column: ColumnElement[str],
    source_id: str,
    values: Sequence[str],
) -> set[str]:
    """Which of ``values`` this source already stored in ``column``."""
    known: set[str] = set()
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), 900):
        rows = connection.execute(
            select(column).where(
                source_column == source_id, column.in_(unique[start : start + 900])
            )
        )
        known.update(rows.scalars())
    return known


def _with_source(
    connection: Connection, table: Table, customer_ids: Sequence[str]
) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(table, sources.c.name.label("source"))
        .join(sources, sources.c.id == table.c.source_id)
        .where(table.c.customer_id.in_(list(customer_ids)))
        .order_by(table.c.occurred_at, table.c.id)
    )
    return [dict(row) for row in rows.mappings()]
