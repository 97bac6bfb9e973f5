from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update

from clientela.storage.repositories._base import Repository, translate_integrity_errors
from clientela.storage.tables import identities


class IdentityRepository(Repository):
    def owner_of(self, kind: str, value: str) -> str | None:
        return self.connection.execute(
            select(identities.c.customer_id).where(
                identities.c.kind == kind, identities.c.value == value
            )
        ).scalar_one_or_none()

    def owners_of(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Owner customer id of each (kind, value) key that is known."""
        key_list = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(key_list), 500):
            chunk = key_list[start : start + 500]
            rows = self.connection.execute(
                select(identities.c.kind, identities.c.value, identities.c.customer_id).where(
                    tuple_(identities.c.kind, identities.c.value).in_(chunk)
                )
            )
            for kind, value, owner in rows:
                found[(kind, value)] = owner
        return found

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            with translate_integrity_errors():
                self.connection.execute(insert(identities), list(rows))

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(identities)
            .where(identities.c.customer_id == customer_id)
            .order_by(identities.c.kind, identities.c.first_seen_at)
        )
        return [dict(row) for row in rows.mappings()]

    def for_customers(self, customer_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {i: [] for i in customer_ids}
        if not customer_ids:
            return grouped
        rows = self.connection.execute(
            select(identities)
            .where(identities.c.customer_id.in_(list(customer_ids)))
            .order_by(identities.c.kind, identities.c.first_seen_at)
        )
        for row in rows.mappings():
            grouped[row["customer_id"]].append(dict(row))
        return grouped

    def get(self, identity_id: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(identities).where(identities.c.id == identity_id))
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def delete(self, identity_id: str) -> None:
        self.connection.execute(delete(identities).where(identities.c.id == identity_id))

    def touch(self, identity_ids: Sequence[str], seen_at: datetime) -> None:
        if identity_ids:
            self.connection.execute(
                update(identities)
                .where(identities.c.id.in_(list(identity_ids)), identities.c.last_seen_at < seen_at)
                .values(last_seen_at=seen_at)
            )

    def by_kind(self, kind: str, *, after_value: str | None, limit: int) -> list[dict[str, Any]]:
        query = select(identities.c.customer_id, identities.c.value).where(
            identities.c.kind == kind
        )
        if after_value is not None:
            query = query.where(identities.c.value > after_value)
        query = query.order_by(identities.c.value).limit(limit)
        return [dict(row) for row in self.connection.execute(query).mappings()]
