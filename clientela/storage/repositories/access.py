"""Users, API keys and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from clientela.storage.bulk import insert_rows
from clientela.storage.repositories._base import Repository, as_dict, translate_integrity_errors
from clientela.storage.tables import api_keys, audit_entries, users


class UserRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(users), dict(row))

    def get_by_email(self, email: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(select(users).where(users.c.email == email)).mappings().first()
        )

    def count(self) -> int:
        return len(self.connection.execute(select(users.c.id)).all())


class ApiKeyRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(api_keys), dict(row))

    def get_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))
            .mappings()
            .first()
        )

    def touch(self, key_id: str, used_at: datetime) -> None:
        self.connection.execute(
            update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=used_at)
        )

    def revoke(self, key_id: str, revoked_at: datetime) -> bool:
        result = self.connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )
        return result.rowcount == 1

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(api_keys).order_by(api_keys.c.created_at))
        return [dict(row) for row in rows.mappings()]


class AuditRepository(Repository):
    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_rows(self.connection, audit_entries, rows, {"seq": None})

    def for_customer(self, customer_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(audit_entries)
            .where(audit_entries.c.customer_id == customer_id)
            .order_by(audit_entries.c.seq.desc())
            .limit(limit)
        )
        return [dict(row) for row in rows.mappings()]
