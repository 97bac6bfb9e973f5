"""Duplicate detection: candidate pairs (the review queue), trained models and runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from clientela.domain.ids import new_id
from clientela.security.envelope import SEALED_FIELDS
from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.repositories._base import Repository, as_dict
from clientela.storage.tables import dedupe_models, dedupe_runs, match_candidates

#: Columns of a profile the duplicate model reads.
MATCH_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "phone",
    "document",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
)

#: A profile's mark: its version and the time of its last change, as one text.
_MARK = "CAST(version AS TEXT) || '|' || COALESCE(CAST(updated_at AS TEXT), '')"


class MatchCandidateRepository(Repository):
    def existing(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Rows of pairs already proposed, whatever their status, keyed by (left, right)."""
        wanted = set(pairs)
        lefts = list(dict.fromkeys(left for left, _ in wanted))
        found: dict[tuple[str, str], dict[str, Any]] = {}
        # By left id alone (the leading column of the pair's unique index), then the pairs
        # asked for: a plain IN list on both engines, no row-value comparisons.
        for chunk, marks in raw.in_lists(lefts):
            for row in raw.select_rows(
                self.connection, match_candidates, f'"left_id" IN ({marks})', chunk
            ):
                key = (row["left_id"], row["right_id"])
                if key in wanted:
                    found[key] = row
        return found

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_rows(self.connection, match_candidates, rows, {})

    def rescore(self, candidate_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(match_candidates).where(match_candidates.c.id == candidate_id).values(**values)
        )

    def get(self, candidate_id: str) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(
                select(match_candidates).where(match_candidates.c.id == candidate_id)
            )
            .mappings()
            .first()
        )

    def page(
        self, *, status: str | None, limit: int, after: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(match_candidates).order_by(match_candidates.c.id).limit(limit)
        if status:
            query = query.where(match_candidates.c.status == status)
        if after:
            query = query.where(match_candidates.c.id > after)
        return [dict(r) for r in self.connection.execute(query).mappings()]

    def decide(
        self,
        candidate_id: str,
        *,
        status: str,
        actor: str,
        at: datetime,
        merge_id: str | None = None,
    ) -> None:
        self.connection.execute(
            update(match_candidates)
            .where(match_candidates.c.id == candidate_id)
            .values(status=status, decided_by=actor, decided_at=at, merge_id=merge_id)
        )

    def remember_rejected(self, a: str, b: str, *, actor: str, at: datetime) -> None:
        """Record that two profiles are not one person (an undone merge, a rejected pair)."""
        left, right = sorted((a, b))
        found = self.existing([(left, right)]).get((left, right))
        if found is not None:
            self.decide(found["id"], status="rejected", actor=actor, at=at)
            return
        self.insert_many(
            [
                {
                    "id": new_id(),
                    "left_id": left,
                    "right_id": right,
                    "probability": 0.0,
                    "match_weight": 0.0,
                    "explanation": {},
                    "status": "rejected",
                    "model_version": 0,
                    "run_id": "",
                    "created_at": at,
                    "decided_at": at,
                    "decided_by": actor,
                }
            ]
        )

    def counts(self) -> dict[str, int]:
        rows = self.connection.execute(
            select(match_candidates.c.status, func.count()).group_by(match_candidates.c.status)
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def open_by_customer(self) -> dict[str, int]:
        """How many pending candidate pairs each profile is in."""
        counts: dict[str, int] = {}
        rows = self.connection.execute(
            select(match_candidates.c.left_id, match_candidates.c.right_id).where(
                match_candidates.c.status == "pending"
            )
        )
        for left, right in rows:
            counts[left] = counts.get(left, 0) + 1
            counts[right] = counts.get(right, 0) + 1
        return counts

    def pending_for(self, customer_ids: Sequence[str]) -> set[str]:
        """Which of these profiles have an open duplicate candidate."""
        found: set[str] = set()
        for chunk, marks in raw.in_lists(list(customer_ids)):
            for column in ("left_id", "right_id"):
                rows = raw.fetch_all(
                    self.connection,
                    f"SELECT {column} FROM match_candidates "  # noqa: S608 - names from here
                    f"WHERE {column} IN ({marks}) AND status = 'pending'",
                    chunk,
                )
                found.update(str(row[0]) for row in rows)
        return found

    def profiles(
        self,
        *,
        changed_since: datetime | None = None,
        ids: Sequence[str] | None = None,
        batch: int = 50_000,
    ) -> Iterator[list[list[Any]]]:
        """Active profiles as ``[id, changed, *MATCH_COLUMNS, mark]`` lists, in batches,
        sealed values opened; ``changed``: updated at or after ``changed_since`` (false
        without it); ``mark``: as ``versions`` gives it. With ``ids``, only those profiles (the
        ones still active).

        The driver's cursor, not Core: a run reads every profile, and the values go straight
        to the comparison table (birth dates as the engine returns them, text or date)."""
        listed = ", ".join(f'"{name}"' for name in MATCH_COLUMNS)
        flag, since = self._changed_flag(changed_since)
        names = ["id", "changed", *MATCH_COLUMNS]
        sealed = {i: name for i, name in enumerate(names) if name in SEALED_FIELDS}
        select_sql = f"SELECT id, {flag}, {listed}, {_MARK} FROM customers WHERE status = 'active'"  # noqa: S608 - names are constants
        if ids is not None:
            for chunk, marks in raw.in_lists(list(ids)):
                sql = raw.placeholders(self.connection, f"{select_sql} AND id IN ({marks})")
                rows = raw.fetch_all(self.connection, sql, [*since, *chunk])
                if rows:
                    yield self.sealer.open_columns(rows, sealed)
            return
        db = raw.streaming_cursor(self.connection, "clientela_match_profiles")
        try:
            db.execute(raw.placeholders(self.connection, f"{select_sql} ORDER BY id"), tuple(since))
            while rows := db.fetchmany(batch):
                yield self.sealer.open_columns(rows, sealed)
        finally:
            db.close()

    def _changed_flag(self, changed_since: datetime | None) -> tuple[str, list[Any]]:
        """The select-list expression "changed since" and its parameters."""
        if changed_since is None:
            return "1 = 0", []
        return "updated_at >= ?", [raw.db_datetime(self.connection, changed_since)]

    def versions(
        self, *, changed_since: datetime | None = None, batch: int = 100_000
    ) -> Iterator[list[tuple[Any, str, Any]]]:
        """``(id, mark, changed)`` of every active profile, in batches, nothing opened: the
        mark (version and time of the last change) differs whenever the profile's content
        does, so a kept copy of the profiles tells which of them to read again."""
        flag, since = self._changed_flag(changed_since)
        sql = f"SELECT id, {_MARK}, {flag} FROM customers WHERE status = 'active'"  # noqa: S608 - names are constants
        db = raw.streaming_cursor(self.connection, "clientela_match_versions")
        try:
            db.execute(raw.placeholders(self.connection, sql), tuple(since))
            while rows := db.fetchmany(batch):
                yield rows
        finally:
            db.close()


class DedupeModelRepository(Repository):
    def latest(self) -> dict[str, Any] | None:
        return as_dict(
            self.connection.execute(
                select(dedupe_models).order_by(dedupe_models.c.version.desc()).limit(1)
            )
            .mappings()
            .first()
        )

    def add(self, row: Mapping[str, Any]) -> int:
        version = int(
            self.connection.execute(
                select(func.coalesce(func.max(dedupe_models.c.version), 0))
            ).scalar_one()
        )
        self.connection.execute(insert(dedupe_models), {**row, "version": version + 1})
        return version + 1


class DedupeRunRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(dedupe_runs), dict(row))

    def finish(self, run_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(dedupe_runs).where(dedupe_runs.c.id == run_id).values(**values)
        )
