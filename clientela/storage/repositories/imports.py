"""Records of file imports: what was imported, by whom, and its summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from clientela.storage.repositories._base import Repository, as_dict
from clientela.storage.tables import imports


class ImportRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(imports), dict(row))

    def finish(self, import_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(update(imports).where(imports.c.id == import_id).values(**values))

    def get(self, import_id: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(select(imports).where(imports.c.id == import_id))
            .mappings()
            .first()
        )

    def list(self, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(imports).order_by(imports.c.created_at.desc()).limit(limit)
        )
        return [dict(row) for row in rows.mappings()]
