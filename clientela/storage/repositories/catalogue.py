"""Attribute registry, sources and destinations: the small reference tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from clientela.storage.repositories._base import Repository, as_dict, translate_integrity_errors
from clientela.storage.tables import attribute_definitions, destinations, sources


class AttributeRepository(Repository):
    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(attribute_definitions).order_by(attribute_definitions.c.key)
        )
        return [dict(row) for row in rows.mappings()]

    def get(self, key: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(
                select(attribute_definitions).where(attribute_definitions.c.key == key)
            )
            .mappings()
            .first()
        )

    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(attribute_definitions), dict(row))

    def update(self, key: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(attribute_definitions).where(attribute_definitions.c.key == key).values(**values)
        )

    def delete(self, key: str) -> None:
        self.connection.execute(
            delete(attribute_definitions).where(attribute_definitions.c.key == key)
        )


class SourceRepository(Repository):
    def get_by_name(self, name: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(select(sources).where(sources.c.name == name))
            .mappings()
            .first()
        )

    def get(self, source_id: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(select(sources).where(sources.c.id == source_id))
            .mappings()
            .first()
        )

    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(sources), dict(row))

    def get_by_write_key_hash(self, key_hash: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(select(sources).where(sources.c.write_key_hash == key_hash))
            .mappings()
            .first()
        )

    def disable(self, source_id: str, when: datetime) -> None:
        self.connection.execute(
            update(sources).where(sources.c.id == source_id).values(disabled_at=when)
        )

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(sources).order_by(sources.c.name))
        return [dict(row) for row in rows.mappings()]


class DestinationRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(destinations), dict(row))

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(destinations).order_by(destinations.c.key))
        return [dict(row) for row in rows.mappings()]

    def get_by_key(self, key: str) -> dict[str, Any] | None:
        query = select(destinations).where(destinations.c.key == key)
        return as_dict(self.connection.execute(query).mappings().first())

    def delete(self, key: str) -> None:
        self.connection.execute(delete(destinations).where(destinations.c.key == key))

    def record_delivery(self, key: str, at: datetime, summary: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(destinations)
            .where(destinations.c.key == key)
            .values(last_delivery_at=at, last_delivery=dict(summary))
        )
