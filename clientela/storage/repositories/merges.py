"""Merges of profiles, and moving a person's rows from one profile to another."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from clientela.storage.repositories._base import Repository
from clientela.storage.tables import (
    consent_events,
    customer_name_tokens,
    events,
    field_provenance,
    identities,
    merges,
    transactions,
)

#: Tables whose rows belong to a person and follow them into a merge.
_PERSONAL_TABLES = (identities, events, transactions, consent_events, field_provenance)


class MergeRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(merges), dict(row))

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(merges)
            .where((merges.c.survivor_id == customer_id) | (merges.c.merged_id == customer_id))
            .order_by(merges.c.created_at)
        )
        return [dict(row) for row in rows.mappings()]

    def move_rows(self, from_id: str, to_id: str) -> dict[str, list[Any]]:
        """Re-point every row of ``from_id`` to ``to_id``; return the moved ids by table."""
        moved: dict[str, list[Any]] = {}
        for table in _PERSONAL_TABLES:
            key = table.c.id
            ids = list(
                self.connection.execute(select(key).where(table.c.customer_id == from_id)).scalars()
            )
            moved[table.name] = ids
            if ids:
                self.connection.execute(
                    update(table).where(table.c.customer_id == from_id).values(customer_id=to_id)
                )
        self.connection.execute(
            delete(customer_name_tokens).where(customer_name_tokens.c.customer_id == from_id)
        )
        return moved
