"""The purposes register and the consent ledger (append-only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from clientela.storage.repositories._base import Repository, translate_integrity_errors
from clientela.storage.tables import consent_events, purposes


class PurposeRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(purposes), dict(row))

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(purposes).order_by(purposes.c.key))
        return [dict(row) for row in rows.mappings()]

    def ids_by_key(self) -> dict[str, str]:
        rows = self.connection.execute(select(purposes.c.key, purposes.c.id))
        return {str(key): str(identifier) for key, identifier in rows.all()}


class ConsentRepository(Repository):
    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.connection.execute(insert(consent_events), list(rows))

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(consent_events)
            .where(consent_events.c.customer_id == customer_id)
            .order_by(consent_events.c.occurred_at)
        )
        return [dict(row) for row in rows.mappings()]
