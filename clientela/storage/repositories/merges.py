"""Merges of profiles, and moving a person's rows from one profile to another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.repositories._base import Repository
from clientela.storage.tables import (
    consent_events,
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
        self.add_many([row])

    def _sealed(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Snapshots keep whole profiles: their personal fields sealed under each one's key."""
        self.sealer.prepare(
            [str(row[side]) for row in rows for side in ("survivor_id", "merged_id")]
        )
        sealed = []
        for row in rows:
            snapshot = dict(row["snapshot"])
            owners = {
                "survivor": row["survivor_id"],
                "merged": row["merged_id"],
                "result": row["survivor_id"],
            }
            parts = [part for part in owners if snapshot.get(part)]
            closed = self.sealer.seal_rows(
                [snapshot[part] for part in parts], [str(owners[part]) for part in parts]
            )
            snapshot.update(zip(parts, closed, strict=True))
            sealed.append({**row, "snapshot": snapshot})
        return sealed

    def _opened(self, row: Mapping[Any, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        snapshot = dict(row["snapshot"])
        for part in ("survivor", "merged", "result"):
            if snapshot.get(part):
                snapshot[part] = self.sealer.open_rows([snapshot[part]])[0]
        return {**row, "snapshot": snapshot}

    def get(self, merge_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(select(merges).where(merges.c.id == merge_id)).mappings()
        return self._opened(row.first())

    def mark_undone(self, merge_id: str, when: datetime) -> None:
        self.connection.execute(
            update(merges).where(merges.c.id == merge_id).values(undone_at=when)
        )

    def history_of(self, survivor_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The merges into ``survivor_id``, newest first, without their snapshots."""
        columns = [c for c in merges.c if c.name != "snapshot"]
        rows = self.connection.execute(
            select(*columns)
            .where(merges.c.survivor_id == survivor_id)
            .order_by(merges.c.created_at.desc(), merges.c.id.desc())
            .limit(limit)
        ).mappings()
        return [dict(row) for row in rows]

    def later_merge_of(self, customer_id: str) -> dict[str, Any] | None:
        """The live merge that folded ``customer_id`` into another profile, if any."""
        row = self.connection.execute(
            select(merges).where(merges.c.merged_id == customer_id, merges.c.undone_at.is_(None))
        ).mappings()
        return self._opened(row.first())

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_rows(self.connection, merges, self._sealed(rows), {})

    def rows_of(self, customer_ids: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
        """Ids of the rows each profile owns, by table (what a merge re-points)."""
        owned: dict[str, dict[str, list[Any]]] = {
            customer_id: {table.name: [] for table in _PERSONAL_TABLES}
            for customer_id in customer_ids
        }
        ids = list(customer_ids)
        for table in _PERSONAL_TABLES:
            for chunk, marks in raw.in_lists(ids):
                rows = raw.fetch_all(
                    self.connection,
                    # Table names come from tables.py, never from input.
                    f'SELECT customer_id, id FROM "{table.name}" '  # noqa: S608
                    f"WHERE customer_id IN ({marks}) ORDER BY id",
                    chunk,
                )
                for owner, row_id in rows:
                    owned[owner][table.name].append(row_id)
        return owned

    def move_many(self, targets: Mapping[str, str]) -> None:
        """Re-point every row of each key profile to its value (merged id -> survivor id)."""
        if not targets:
            return
        pairs = [(target, source) for source, target in targets.items()]
        for table in _PERSONAL_TABLES:
            raw.execute_many(
                self.connection,
                f'UPDATE "{table.name}" SET customer_id = ? WHERE customer_id = ?',  # noqa: S608
                pairs,
            )
        raw.execute_many(
            self.connection,
            "DELETE FROM customer_name_tokens WHERE customer_id = ?",
            [(source,) for source in targets],
        )

    def move_back(self, moved: Mapping[str, Sequence[Any]], from_id: str, to_id: str) -> None:
        """Undo ``move_rows``: the listed rows, where still on ``from_id``, go back to ``to_id``."""
        for table in _PERSONAL_TABLES:
            ids = list(moved.get(table.name, ()))
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                self.connection.execute(
                    update(table)
                    .where(table.c.id.in_(chunk), table.c.customer_id == from_id)
                    .values(customer_id=to_id)
                )

    def move_events_of(
        self,
        from_id: str,
        to_id: str,
        *,
        since: datetime,
        anonymous_ids: Sequence[str],
        user_ids: Sequence[str],
    ) -> int:
        """Events received since a merge that carry the other profile's ids follow that profile."""
        condition = events.c.anonymous_id.in_(list(anonymous_ids)) | events.c.user_id.in_(
            list(user_ids)
        )
        result = self.connection.execute(
            update(events)
            .where(events.c.customer_id == from_id, events.c.received_at >= since, condition)
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(merges)
            .where((merges.c.survivor_id == customer_id) | (merges.c.merged_id == customer_id))
            .order_by(merges.c.created_at)
        )
        return [opened for row in rows.mappings() if (opened := self._opened(row)) is not None]
