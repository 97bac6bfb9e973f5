from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from clientela.security.envelope import BLINDED_KINDS
from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.repositories._base import Repository, translate_integrity_errors
from clientela.storage.tables import identities, identity_flags


class IdentityRepository(Repository):
    def owner_of(self, kind: str, value: str) -> str | None:
        owner = raw.scalar(
            self.connection,
            'SELECT "customer_id" FROM identities WHERE "kind" = ? AND "value" = ?',
            (kind, self.sealer.blind(kind, value)),
        )
        return None if owner is None else str(owner)

    def owners_of(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Owner customer id of each (kind, value) key that is known."""
        values_by_kind: dict[str, list[str]] = {}
        plain_of: dict[tuple[str, str], str] = {}
        for kind, value in dict.fromkeys(keys):
            stored = self.sealer.blind(kind, value)
            plain_of[(kind, stored)] = value
            values_by_kind.setdefault(kind, []).append(stored)
        found: dict[tuple[str, str], str] = {}
        for kind, values in values_by_kind.items():
            # kind = ? AND value IN (...) is an index seek per value on (kind, value).
            for chunk, marks in raw.in_lists(values):
                sql = (  # only placeholders are formatted in
                    "SELECT value, customer_id FROM identities "  # noqa: S608
                    f"WHERE kind = ? AND value IN ({marks})"
                )
                rows = raw.fetch_all(self.connection, sql, (kind, *chunk))
                for value, owner in rows:
                    found[(kind, plain_of[(kind, value)])] = str(owner)
        return found

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Identities; e-mails, phones and documents as a blind index plus a sealed copy."""
        personal = [row for row in rows if row["kind"] in BLINDED_KINDS]
        if personal:
            self.sealer.prepare([str(row["customer_id"]) for row in personal])
            rows = [self._blinded(row) for row in rows]
        with translate_integrity_errors():
            insert_rows(self.connection, identities, rows, {})

    def seal_stored(self, *, batch: int = 2_000) -> int:
        """Blind-index and seal e-mails, phones and documents still stored plain."""
        done = 0
        while True:
            rows = self.connection.execute(
                select(
                    identities.c.id, identities.c.customer_id, identities.c.kind, identities.c.value
                )
                .where(identities.c.kind.in_(sorted(BLINDED_KINDS)), identities.c.sealed.is_(None))
                .limit(batch)
            ).mappings()
            found = [dict(row) for row in rows]
            if not found:
                return done
            self.sealer.prepare([str(row["customer_id"]) for row in found])
            self.connection.execute(
                update(identities)
                .where(identities.c.id == bindparam("key"))
                .values(value=bindparam("v_value"), sealed=bindparam("v_sealed")),
                [
                    {
                        "key": blinded["id"],
                        "v_value": blinded["value"],
                        "v_sealed": blinded["sealed"],
                    }
                    for blinded in map(self._blinded, found)
                ],
            )
            done += len(found)

    def _blinded(self, row: Mapping[str, Any]) -> dict[str, Any]:
        kind, value = row["kind"], row["value"]
        if kind not in BLINDED_KINDS:
            return dict(row)
        return {
            **row,
            "value": self.sealer.blind(kind, value),
            "sealed": self.sealer.seal_one(str(row["customer_id"]), kind, value),
        }

    def _opened(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**row, "value": self.sealer.open_field(row["kind"], row["sealed"])}
            if row.get("sealed") is not None
            else dict(row)
            for row in rows
        ]

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        rows = raw.select_rows(
            self.connection,
            identities,
            '"customer_id" = ?',
            (customer_id,),
            order_by='"kind", "first_seen_at"',
        )
        self.sealer.prepare_opening(row["sealed"] for row in rows)
        return [row for row in self._opened(rows) if row["value"] is not None]

    def of_kind(self, kind: str, *, batch: int = 10_000) -> Iterator[tuple[str, str]]:
        """(customer_id, value) of every identity of one kind, by customer."""
        result = self.connection.execution_options(yield_per=batch).execute(
            select(identities.c.customer_id, identities.c.value, identities.c.sealed)
            .where(identities.c.kind == kind)
            .order_by(identities.c.customer_id, identities.c.value)
        )
        for partition in result.partitions(batch):
            self.sealer.prepare_opening(sealed for _, _, sealed in partition)
            for customer_id, value, sealed in partition:
                plain = value if sealed is None else self.sealer.open_field(kind, sealed)
                if plain is not None:
                    yield str(customer_id), str(plain)

    def kinds_of(self, customer_ids: Sequence[str], kind: str) -> dict[str, set[str]]:
        """Values of one identity kind held by each customer."""
        found: dict[str, set[str]] = {}
        rows = self.connection.execute(
            select(identities.c.customer_id, identities.c.value, identities.c.sealed).where(
                identities.c.kind == kind, identities.c.customer_id.in_(list(customer_ids))
            )
        ).all()
        self.sealer.prepare_opening(sealed for _, _, sealed in rows)
        for owner, value, sealed in rows:
            plain = value if sealed is None else self.sealer.open_field(kind, sealed)
            if plain is not None:
                found.setdefault(owner, set()).add(plain)
        return found

    def touch_keys(self, keys: Sequence[tuple[str, str]], seen_at: datetime) -> None:
        when = raw.db_datetime(self.connection, seen_at)
        raw.execute_many(
            self.connection,
            "UPDATE identities SET last_seen_at = ? WHERE kind = ? AND value = ? "
            "AND last_seen_at < ?",
            [(when, kind, self.sealer.blind(kind, value), when) for kind, value in keys],
        )

    def blocked(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these keys were blocked for linking too many accounts."""
        found: set[tuple[str, str]] = set()
        plain_of = {(kind, self.sealer.blind(kind, value)): value for kind, value in keys}
        key_list = list(plain_of)
        for start in range(0, len(key_list), 200):  # SQLite limits expression depth
            chunk = key_list[start : start + 200]
            condition = " OR ".join("(kind = ? AND value = ?)" for _ in chunk)
            rows = raw.fetch_all(
                self.connection,
                f"SELECT kind, value FROM identity_flags WHERE blocked AND ({condition})",  # noqa: S608
                [part for key in chunk for part in key],
            )
            found.update((kind, plain_of[(kind, value)]) for kind, value in rows)
        return found

    def record_conflicts(
        self, keys: Sequence[tuple[str, str]], seen_at: datetime, *, limit: int
    ) -> list[tuple[str, str]]:
        """Count one more conflict for each key; return the keys that are now blocked."""
        newly_blocked = []
        for kind, plain in keys:
            value = self.sealer.blind(kind, plain)
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
                newly_blocked.append((kind, plain))
        return newly_blocked

    def flags(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(identity_flags).order_by(identity_flags.c.conflicts.desc())
        )
        return [dict(row) for row in rows.mappings()]
