"""Users, API keys and the audit trail."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from clientela.domain.audit_chain import seal
from clientela.domain.ids import new_id
from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.group_commit import Operation
from clientela.storage.repositories._base import Repository, translate_integrity_errors
from clientela.storage.tables import (
    api_keys,
    audit_checkpoints,
    audit_entries,
    login_attempts,
    user_recovery_codes,
    user_sessions,
    users,
)


class UserRepository(Repository):
    def __init__(
        self, connection: Connection, *, write_now: Callable[[Operation], None] | None = None
    ) -> None:
        super().__init__(connection)
        self._write_now = write_now

    def stamp_session(self, session_id: str, values: Mapping[str, Any]) -> None:
        """Update a session at once and durably, even from a read-only unit of work (a
        request that only reads still moves the idle clock or ends an expired session)."""
        statement = update(user_sessions).where(user_sessions.c.id == session_id).values(**values)

        def stamp(connection: Connection) -> None:
            connection.execute(statement)

        if self._write_now is None:
            stamp(self.connection)
        else:
            self._write_now(stamp)

    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(users), dict(row))

    def count(self) -> int:
        return len(self.connection.execute(select(users.c.id)).all())

    def get(self, user_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(select(users).where(users.c.id == user_id))
        found = row.mappings().first()
        return None if found is None else dict(found)

    def get_by_email(self, email: str) -> dict[str, Any] | None:
        row = self.connection.execute(select(users).where(users.c.email == email))
        found = row.mappings().first()
        return None if found is None else dict(found)

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(users).order_by(users.c.email))
        return [dict(row) for row in rows.mappings()]

    def update(self, user_id: str, values: Mapping[str, Any]) -> None:
        with translate_integrity_errors():  # a sign-in e-mail taken meanwhile
            self.connection.execute(update(users).where(users.c.id == user_id).values(**values))

    def replace_recovery_codes(self, user_id: str, hashes: Sequence[str]) -> None:
        self.connection.execute(
            delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id)
        )
        self.connection.execute(
            insert(user_recovery_codes),
            [{"id": new_id(), "user_id": user_id, "code_hash": h} for h in hashes],
        )

    def use_recovery_code(self, user_id: str, code_hash: str, when: datetime) -> bool:
        result = self.connection.execute(
            update(user_recovery_codes)
            .where(
                user_recovery_codes.c.user_id == user_id,
                user_recovery_codes.c.code_hash == code_hash,
                user_recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=when)
        )
        return bool(result.rowcount)

    def add_session(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(user_sessions), dict(row))

    def session_by_token(self, token_hash: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(user_sessions).where(user_sessions.c.token_hash == token_hash)
        )
        found = row.mappings().first()
        return None if found is None else dict(found)

    def update_session(self, session_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(user_sessions).where(user_sessions.c.id == session_id).values(**values)
        )

    def end_sessions(self, user_id: str, when: datetime) -> int:
        result = self.connection.execute(
            update(user_sessions)
            .where(user_sessions.c.user_id == user_id, user_sessions.c.ended_at.is_(None))
            .values(ended_at=when)
        )
        return int(result.rowcount or 0)

    def add_failure(self, account_hash: str, ip: str | None, when: datetime) -> None:
        self.connection.execute(
            insert(login_attempts), {"account_hash": account_hash, "ip": ip, "occurred_at": when}
        )

    def failures_since(
        self, *, account_hash: str | None = None, ip: str | None = None, since: datetime
    ) -> int:
        query = (
            select(func.count())
            .select_from(login_attempts)
            .where(login_attempts.c.occurred_at >= since)
        )
        if account_hash is not None:
            query = query.where(login_attempts.c.account_hash == account_hash)
        if ip is not None:
            query = query.where(login_attempts.c.ip == ip)
        return int(self.connection.execute(query).scalar_one())

    def last_failure(self, account_hash: str) -> datetime | None:
        row = self.connection.execute(
            select(func.max(login_attempts.c.occurred_at)).where(
                login_attempts.c.account_hash == account_hash
            )
        ).scalar()
        return row

    def clear_failures(self, account_hash: str) -> None:
        self.connection.execute(
            delete(login_attempts).where(login_attempts.c.account_hash == account_hash)
        )


class KeyCache:
    """API key rows by digest for a few seconds, so a busy integration does not pay a look-up
    per request. Revocation through this store empties it at once; another process (the CLI)
    revoking a key is seen within ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._rows: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, key_hash: str) -> dict[str, Any] | None:
        hit = self._rows.get(key_hash)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key_hash: str, row: dict[str, Any]) -> None:
        if self.seconds <= 0:
            return
        if len(self._rows) > 10_000:
            self._rows.clear()
        self._rows[key_hash] = (time.monotonic() + self.seconds, row)

    def clear(self) -> None:
        self._rows.clear()


class ApiKeyRepository(Repository):
    def __init__(
        self,
        connection: Connection,
        *,
        write_now: Callable[[Operation], None],
        cache: KeyCache | None = None,
    ) -> None:
        super().__init__(connection)
        self._write_now = write_now
        self._cache = cache or KeyCache(0)

    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(api_keys), dict(row))

    def get_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        cached = self._cache.get(key_hash)
        if cached is not None:
            return cached
        rows = raw.select_rows(self.connection, api_keys, '"key_hash" = ?', (key_hash,))
        if not rows:
            return None
        self._cache.put(key_hash, rows[0])
        return rows[0]

    def touch(self, key_id: str, used_at: datetime) -> None:
        statement = update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=used_at)

        def stamp(connection: Connection) -> None:
            connection.execute(statement)

        self._write_now(stamp)
        self._cache.clear()  # the cached rows carry the previous time

    def revoke(self, key_id: str, revoked_at: datetime) -> bool:
        self._cache.clear()
        result = self.connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )
        return result.rowcount == 1

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(api_keys).order_by(api_keys.c.created_at))
        return [dict(row) for row in rows.mappings()]


#: PostgreSQL advisory lock serialising appends to the chain (any constant, unique here)
_AUDIT_LOCK = 7_426_001


class AuditRepository(Repository):
    def __init__(
        self,
        connection: Connection,
        *,
        defer: Callable[[Operation], None],
        chain_key: Callable[[], bytes],
    ) -> None:
        super().__init__(connection)
        self._defer = defer
        self._chain_key = chain_key

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append entries to the sealed chain; from a read-only unit of work they are
        group-committed at its commit."""
        if rows:
            self._defer(AuditAppend(list(rows), self._chain_key()))

    def head(self) -> tuple[int, str | None]:
        return _head(self.connection)

    def stream(self, *, batch: int = 5_000) -> Iterator[list[dict[str, Any]]]:
        """Every entry in sequence order, in batches (keyset pagination)."""
        after = -1
        while True:
            rows = [
                dict(row)
                for row in self.connection.execute(
                    select(audit_entries)
                    .where(audit_entries.c.seq > after)
                    .order_by(audit_entries.c.seq)
                    .limit(batch)
                ).mappings()
            ]
            if not rows:
                return
            yield rows
            after = int(rows[-1]["seq"])

    def get(self, seq: int) -> dict[str, Any] | None:
        row = self.connection.execute(select(audit_entries).where(audit_entries.c.seq == seq))
        found = row.mappings().first()
        return None if found is None else dict(found)

    def search(
        self,
        *,
        customer_id: str | None = None,
        actor: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        after: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        query = select(audit_entries).order_by(audit_entries.c.seq).limit(limit)
        if customer_id is not None:
            query = query.where(audit_entries.c.customer_id == customer_id)
        if actor is not None:
            query = query.where(audit_entries.c.actor == actor)
        if start is not None:
            query = query.where(audit_entries.c.occurred_at >= start)
        if end is not None:
            query = query.where(audit_entries.c.occurred_at < end)
        if after is not None:
            query = query.where(audit_entries.c.seq > after)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def add_checkpoint(self, row: Mapping[str, Any]) -> None:
        known = self.connection.execute(
            select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == row["seq"])
        ).first()
        if known is None:
            self.connection.execute(insert(audit_checkpoints), dict(row))

    def checkpoints(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq))
        return [dict(row) for row in rows.mappings()]

    def for_customer(self, customer_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(audit_entries)
            .where(audit_entries.c.customer_id == customer_id)
            .order_by(audit_entries.c.seq.desc())
            .limit(limit)
        )
        return [dict(row) for row in rows.mappings()]

    def for_customers(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The whole trail about these people, oldest first (access bundles)."""
        rows = self.connection.execute(
            select(audit_entries)
            .where(audit_entries.c.customer_id.in_(list(customer_ids)))
            .order_by(audit_entries.c.seq)
        )
        return [dict(row) for row in rows.mappings()]

    def window(
        self, start: datetime, end: datetime, *, actor: str | None = None
    ) -> list[tuple[str | None, list[str]]]:
        """(customer id, fields) of the entries in a time window, optionally of one actor."""
        query = select(audit_entries.c.customer_id, audit_entries.c.fields).where(
            audit_entries.c.occurred_at >= start, audit_entries.c.occurred_at < end
        )
        if actor is not None:
            query = query.where(audit_entries.c.actor == actor)
        return [(row[0], list(row[1] or [])) for row in self.connection.execute(query).all()]


@dataclass(frozen=True, slots=True)
class AuditAppend:
    """Entries to append to the chain; the group commit joins those of concurrent reads into
    one append (one head read, one insert)."""

    rows: list[Mapping[str, Any]]
    key: bytes

    @property
    def coalesce_key(self) -> tuple[str, bytes]:
        return ("audit", self.key)

    def coalesced(self, others: Sequence[Any]) -> AuditAppend:
        return AuditAppend([row for other in others for row in other.rows], self.key)

    def __call__(self, connection: Connection) -> None:
        _append_sealed(connection, self.rows, self.key)


def _head(connection: Connection) -> tuple[int, str | None]:
    """Number and hash of the chain's last entry ((0, None) while it is empty)."""
    rows = raw.fetch_all(
        connection, "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1", ()
    )
    return (0, None) if not rows else (int(rows[0][0]), rows[0][1])


def _append_sealed(connection: Connection, batch: list[Mapping[str, Any]], key: bytes) -> None:
    """Number and seal the entries after the current head, under a lock so that concurrent
    writers extend one chain (SQLite writers are serialised already)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_AUDIT_LOCK)))
    seq, prev = _head(connection)
    sealed = []
    for row in batch:
        seq += 1
        entry = {**row, "seq": seq, "prev_hash": prev}
        entry["hash"] = prev = seal(key, prev, entry)
        sealed.append(entry)
    insert_rows(connection, audit_entries, sealed, {})
