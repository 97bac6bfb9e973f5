"""Aggregates for analytics and the per-person scores they produce."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from clientela.storage.repositories._base import Repository
from clientela.storage.tables import customer_scores, customers, transactions

_KEPT = ("completed", "partially_refunded")


class AnalyticsRepository(Repository):
    def rfm_aggregate(self, cutoff: datetime) -> list[tuple[str, datetime, int, int]]:
        """(customer id, last order, orders, net revenue in minor units) of active customers
        with orders before ``cutoff``: one GROUP BY over the orders."""
        query = (
            select(
                transactions.c.customer_id,
                func.max(transactions.c.occurred_at),
                func.count(),
                func.sum(transactions.c.amount_minor - transactions.c.refunded_minor),
            )
            .join(customers, customers.c.id == transactions.c.customer_id)
            .where(
                transactions.c.occurred_at < cutoff,
                transactions.c.status.in_(_KEPT),
                customers.c.status == "active",
            )
            .group_by(transactions.c.customer_id)
        )
        return [
            (str(row[0]), row[1], int(row[2]), int(row[3] or 0))
            for row in self.connection.execute(query).all()
        ]

    def clear(self, columns: Sequence[str]) -> None:
        self.connection.execute(update(customer_scores).values(dict.fromkeys(columns)))

    def write_scores(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
        """Set ``columns`` for each row's customer (rows created as needed)."""
        if not rows:
            return
        ids = [str(row["customer_id"]) for row in rows]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            existing.update(
                str(found[0])
                for found in self.connection.execute(
                    select(customer_scores.c.customer_id).where(
                        customer_scores.c.customer_id.in_(chunk)
                    )
                ).all()
            )
        fresh = [{"customer_id": i} for i in ids if i not in existing]
        if fresh:
            self.connection.execute(insert(customer_scores), fresh)
        statement = (
            update(customer_scores)
            .where(customer_scores.c.customer_id == bindparam("key_id"))
            .values({name: bindparam(f"v_{name}") for name in columns})
        )
        self.connection.execute(
            statement,
            [
                {"key_id": row["customer_id"], **{f"v_{name}": row[name] for name in columns}}
                for row in rows
            ],
        )

    def scores_of(self, customer_id: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                select(customer_scores).where(customer_scores.c.customer_id == customer_id)
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def segment_counts(self) -> dict[str, int]:
        rows = self.connection.execute(
            select(customer_scores.c.rfm_segment, func.count())
            .where(customer_scores.c.rfm_segment.is_not(None))
            .group_by(customer_scores.c.rfm_segment)
        )
        return {str(segment): int(count) for segment, count in rows.all()}
