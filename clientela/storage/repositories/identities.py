from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.repositories._base import Repository, translate_integrity_errors
from clientela.storage.tables import identities, identity_flags


class IdentityRepository(Repository):
    def owner_of(self, kind: str, value: str) -> str | None:
        owner = raw.scalar(
            self.connection,
            'SELECT "customer_id" FROM identities WHERE "kind" = ? AND "value" = ?',
            (kind, value),
        )
        return None if owner is None else str(owner)

    def owners_of(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Owner customer id of each (kind, value) key that is known."""
        values_by_kind: dict[str, list[str]] = {}
        for kind, value in dict.fromkeys(keys):
            values_by_kind.setdefault(kind, []).append(value)
        found: dict[tuple[str, str], str] = {}
        for kind, values in values_by_kind.items():
            # kind = ? AND value IN (...) is an index seek per value on (kind, value).
            for start in range(0, len(values), 900):
                chunk = values[start : start + 900]
                marks = ", ".join("?" for _ in chunk)
                sql = (  # only placeholders are formatted in
                    "SELECT value, customer_id FROM identities "  # noqa: S608
                    f"WHERE kind = ? AND value IN ({marks})"
                )
                rows = raw.fetch_all(self.connection, sql, (kind, *chunk))
                for value, owner in rows:
                    found[(kind, value)] = str(owner)
        return found

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        with translate_integrity_errors():
            insert_rows(self.connection, identities, rows, {})

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        return raw.select_rows(
            self.connection,
            identities,
            '"customer_id" = ?',
            (customer_id,),
            order_by='"kind", "first_seen_at"',
        )

    def of_kind(self, kind: str, *, batch: int = 10_000) -> Iterator[tuple[str, str]]:
        """(customer_id, value) of every identity of one kind, by customer."""
        result = self.connection.execution_options(yield_per=batch).execute(
            select(identities.c.customer_id, identities.c.value)
            .where(identities.c.kind == kind)
            .order_by(identities.c.customer_id, identities.c.value)
        )
        for customer_id, value in result:
            yield str(customer_id), str(value)

    def kinds_of(self, customer_ids: Sequence[str], kind: str) -> dict[str, set[str]]:
        """Values of one identity kind held by each customer."""
        found: dict[str, set[str]] = {}
        rows = self.connection.execute(
            select(identities.c.customer_id, identities.c.value).where(
                identities.c.kind == kind, identities.c.customer_id.in_(list(customer_ids))
            )
        )
        for owner, value in rows:
            found.setdefault(owner, set()).add(value)
        return found

    def touch_keys(self, keys: Sequence[tuple[str, str]], seen_at: datetime) -> None:
        when = raw.db_datetime(self.connection, seen_at)
        raw.execute_many(
            self.connection,
            "UPDATE identities SET last_seen_at = ? WHERE kind = ? AND value = ? "
            "AND last_seen_at < ?",
            [(when, kind, value, when) for kind, value in keys],
        )

    def blocked(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these keys were blocked for linking too many accounts."""
        found: set[tuple[str, str]] = set()
        key_list = list(keys)
        for start in range(0, len(key_list), 200):  # SQLite limits expression depth
            chunk = key_list[start : start + 200]
            condition = " OR ".join("(kind = ? AND value = ?)" for _ in chunk)
            rows = raw.fetch_all(
                self.connection,
                f"SELECT kind, value FROM identity_flags WHERE blocked AND ({condition})",  # noqa: S608
                [part for key in chunk for part in key],
            )
            found.update((kind, value) for kind, value in rows)
        return found

    def record_conflicts(
        self, keys: Sequence[tuple[str, str]], seen_at: datetime, *, limit: int
    ) -> list[tuple[str, str]]:
        """Count one more conflict for each key; return the keys that are now blocked."""
        newly_blocked = []
        for kind, value in keys:
            row = self.connection.execute(
                select(identity_flags.c.conflicts, identity_flags.c.blocked).where(
                    identity_flags.c.kind == kind, identity_flags.c.value == value
                )
            ).first()
            conflicts = (row[0] if row else 0) + 1
            blocked = conflicts > limit
            if row is None:
                self.connection.execute(
                    insert(identity_flags).values(
                        kind=kind,
                        value=value,
                        conflicts=conflicts,
                        blocked=blocked,
                        first_seen_at=seen_at,
                        last_seen_at=seen_at,
                    )
                )
            else:
                self.connection.execute(
                    update(identity_flags)
                    .where(identity_flags.c.kind == kind, identity_flags.c.value == value)
                    .values(conflicts=conflicts, blocked=blocked, last_seen_at=seen_at)
                )
            if blocked and not (row and row[1]):
                newly_blocked.append((kind, value))
        return newly_blocked

    def flags(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(identity_flags).order_by(identity_flags.c.conflicts.desc())
        )
        return [dict(row) for row in rows.mappings()]
