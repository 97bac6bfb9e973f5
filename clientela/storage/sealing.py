"""Sealing and opening personal fields inside the storage layer, so services see plain values.

One ``Sealer`` per unit of work: it caches the customers' data keys it has unwrapped (one query
per batch of rows, never one per row), creates a key in the same transaction as the first
sealed value of a customer, and destroys keys for erasure (crypto-shredding). Keys live in
``customer_keys``, wrapped by the master key's wrapping key; backups leave that table's rows
out, so an old backup holds sealed values whose keys exist only in the live store.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, bindparam, delete, select, update

from clientela.domain.actor import utcnow
from clientela.security.envelope import (
    BLINDED_KINDS,
    PREFIX,
    SEALED_FIELDS,
    KeyUnavailable,
    blind,
    is_sealed,
    key_id_of,
    new_data_key,
    open_body,
    seal_value,
    unwrap_key,
    wrap_key,
)
from clientela.security.keyring import Keyring
from clientela.storage import raw
from clientela.storage.bulk import insert_rows
from clientela.storage.tables import customer_keys

__all__ = ["Sealer"]

_CHUNK = 500
#: entries each of the unit of work's memos keeps (a scan of the whole store goes past it)
_KEPT = 50_000
DEFAULT_BLIND_INDEX_BYTES = 16


class Sealer:
    def __init__(
        self,
        connection: Connection,
        keyring: Callable[[], Keyring],
        *,
        blind_index_bytes: int = DEFAULT_BLIND_INDEX_BYTES,
    ) -> None:
        self._connection = connection
        self._keyring = keyring
        self._blind_bytes = blind_index_bytes
        self._ciphers: dict[str, AESGCM | None] = {}
        self._index: hmac.HMAC | None = None
        #: blind indexes computed in this unit of work: a write looks its identities up, checks
        #: them against the flags and inserts them, three HMACs of each value otherwise
        self._blinded: dict[tuple[str, str], str] = {}
        #: values sealed in this unit of work, by (key id, field, value), with the key used
        self._sealed: dict[tuple[str, str, str], tuple[AESGCM, str]] = {}

    # --- keys ------------------------------------------------------------------------------

    def _load(self, key_ids: Iterable[str]) -> None:
        wanted = [k for k in dict.fromkeys(key_ids) if k not in self._ciphers]
        if wanted:
            self._ciphers.update(self._unwrap(wanted))

    def _unwrap(self, key_ids: Sequence[str]) -> dict[str, AESGCM | None]:
        """The ciphers of these (distinct) data keys; ``None`` for a key that is gone."""
        ciphers: dict[str, AESGCM | None] = {}
        if not key_ids:
            return ciphers
        wrapping = AESGCM(self._keyring().wrapping_key)
        # The driver's cursor, not Core: one profile read costs one of these.
        for chunk, marks in raw.in_lists(key_ids):
            rows = raw.fetch_all(
                self._connection,
                f"SELECT key_id, wrapped FROM customer_keys WHERE key_id IN ({marks})",  # noqa: S608
                chunk,
            )
            found = {str(key_id): bytes(wrapped) for key_id, wrapped in rows}
            for key_id in chunk:
                wrapped = found.get(key_id)
                ciphers[key_id] = (
                    None if wrapped is None else AESGCM(unwrap_key(wrapping, key_id, wrapped))
                )
        return ciphers

    def _create(self, key_ids: Sequence[str]) -> None:
        fresh = [k for k in dict.fromkeys(key_ids) if self._ciphers.get(k) is None]
        if not fresh:
            return
        wrapping = AESGCM(self._keyring().wrapping_key)
        now = utcnow()
        rows = []
        for key_id in fresh:
            key = new_data_key()
            rows.append(
                {"key_id": key_id, "wrapped": wrap_key(wrapping, key_id, key), "created_at": now}
            )
            self._ciphers[key_id] = AESGCM(key)
        insert_rows(self._connection, customer_keys, rows, {})

    def shred(self, key_ids: Sequence[str]) -> int:
        """Destroy these data keys: every value sealed with them, anywhere, stays unreadable."""
        removed = 0
        for start in range(0, len(key_ids), _CHUNK):
            chunk = list(key_ids[start : start + _CHUNK])
            result = self._connection.execute(
                delete(customer_keys).where(customer_keys.c.key_id.in_(chunk))
            )
            removed += int(result.rowcount or 0)
        for key_id in key_ids:
            self._ciphers[key_id] = None
        return removed

    def rewrap(self, old: Keyring, new: Keyring, *, batch: int = 5_000) -> int:
        """Re-wrap every data key from ``old``'s wrapping key to ``new``'s (no data rewrite)."""
        old_key, new_key = AESGCM(old.wrapping_key), AESGCM(new.wrapping_key)
        ids = [str(k) for k in self._connection.execute(select(customer_keys.c.key_id)).scalars()]
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            rows = self._connection.execute(
                select(customer_keys.c.key_id, customer_keys.c.wrapped).where(
                    customer_keys.c.key_id.in_(chunk)
                )
            ).all()
            self._connection.execute(
                update(customer_keys)
                .where(customer_keys.c.key_id == bindparam("k"))
                .values(wrapped=bindparam("w")),
                [
                    {
                        "k": key_id,
                        "w": wrap_key(new_key, key_id, unwrap_key(old_key, key_id, bytes(w))),
                    }
                    for key_id, w in rows
                ],
            )
        return len(ids)

    def wrapped_keys(self) -> list[dict[str, Any]]:
        """Every data key as stored (wrapped): what a restore carries over to the old data."""
        return [dict(row) for row in self._connection.execute(select(customer_keys)).mappings()]

    def put_back(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store wrapped keys the store does not have (after a restore)."""
        present = {
            str(k) for k in self._connection.execute(select(customer_keys.c.key_id)).scalars()
        }
        missing = [dict(row) for row in rows if row["key_id"] not in present]
        for start in range(0, len(missing), _CHUNK):
            self._connection.execute(customer_keys.insert(), missing[start : start + _CHUNK])
        return len(missing)

    # --- values ----------------------------------------------------------------------------

    def seal_rows(
        self,
        rows: Sequence[Mapping[str, Any]],
        key_ids: Sequence[str],
        *,
        fields: Sequence[str] = SEALED_FIELDS,
    ) -> list[dict[str, Any]]:
        """Copies of ``rows`` with ``fields`` sealed, each row under the data key named at the
        same position in ``key_ids`` (created when the customer has none yet)."""
        self.prepare(
            [
                k
                for row, k in zip(rows, key_ids, strict=True)
                if any(_plain(row.get(f)) for f in fields)
            ]
        )
        sealed = []
        for row, key_id in zip(rows, key_ids, strict=True):
            copy = dict(row)
            for field in fields:
                value = copy.get(field)
                if _plain(value):
                    copy[field] = self.seal_one(key_id, field, str(value))
            sealed.append(copy)
        return sealed

    def prepare(self, key_ids: Sequence[str]) -> None:
        """Load (or create) the keys of these customers in one go before sealing one by one."""
        self._load(key_ids)
        self._create([k for k in key_ids if self._ciphers.get(k) is None])

    def prepare_opening(self, tokens: Iterable[Any]) -> None:
        """Load the keys these sealed values need in one go before opening them one by one."""
        self._load(key_id_of(t) for t in tokens if is_sealed(t))

    def seal_one(self, key_id: str, field: str, value: str) -> str:
        if self._ciphers.get(key_id) is None:
            self.prepare([key_id])
        cipher = self._ciphers[key_id]
        assert cipher is not None
        # A new profile's e-mail is sealed for the profile, its provenance and its identity:
        # one sealing serves the three (the same key and field; a key made again seals anew).
        done = self._sealed.get((key_id, field, value))
        if done is not None and done[0] is cipher:
            return done[1]
        if len(self._sealed) >= _KEPT:
            self._sealed.clear()
        token = seal_value(cipher, key_id, field, value)
        self._sealed[(key_id, field, value)] = (cipher, token)
        return token

    def open_rows(
        self, rows: Iterable[Mapping[Any, Any]], *, fields: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Copies of ``rows`` with every sealed value opened (``None`` where the key is gone);
        with ``fields``, only those are looked at (a table whose sealed columns are known)."""
        copies = [dict(row) for row in rows]

        def looked_at(row: dict[str, Any]) -> Sequence[str]:
            return list(row) if fields is None else fields

        self._load(
            key_id_of(v) for row in copies for f in looked_at(row) if is_sealed(v := row.get(f))
        )
        for row in copies:
            for field in looked_at(row):
                value = row.get(field)
                if is_sealed(value):
                    row[field] = self._open(field, value)
        return copies

    def open_columns(
        self, rows: Iterable[Sequence[Any]], fields: Mapping[int, str]
    ) -> list[list[Any]]:
        """``rows`` as lists with the sealed values at the positions of ``fields`` (position ->
        field name) opened: for one pass over many customers (a scan), so only those positions
        are looked at and the batch's keys are unwrapped for it alone, not kept."""
        lists = [list(row) for row in rows]
        named = list(fields.items())
        skip = len(PREFIX)
        # one pass splits each sealed value into its key id and body; a second opens them
        sealed: list[tuple[list[Any], int, str, str, str]] = []
        for row in lists:
            for position, field in named:
                value = row[position]
                if isinstance(value, str) and value.startswith(PREFIX):
                    key_id, _, body = value[skip:].partition(":")
                    sealed.append((row, position, field, key_id, body))
        ciphers = self._unwrap(list(dict.fromkeys(item[3] for item in sealed)))
        for row, position, field, key_id, body in sealed:
            row[position] = _open_or_none(ciphers.get(key_id), field, body)
        return lists

    def open_field(self, field: str, value: Any) -> Any:
        if not is_sealed(value):
            return value
        self._load([key_id_of(value)])
        return self._open(field, value)

    def _open(self, field: str, token: str) -> str | None:
        key_id, _, body = token[len(PREFIX) :].partition(":")
        return _open_or_none(self._ciphers.get(key_id), field, body)

    # --- blind indexes ---------------------------------------------------------------------

    def blind(self, kind: str, value: str) -> str:
        """What ``identities.value`` holds for this identity: a blind index for personal kinds."""
        if kind not in BLINDED_KINDS:
            return value
        found = self._blinded.get((kind, value))
        if found is None:
            if self._index is None:
                key = self._keyring().derive("blind-index")
                self._index = hmac.new(key, digestmod=hashlib.sha256)
            if len(self._blinded) >= _KEPT:
                self._blinded.clear()
            found = self._blinded[(kind, value)] = blind(
                self._index, kind, value, self._blind_bytes
            )
        return found


def _open_or_none(cipher: AESGCM | None, field: str, body: str) -> str | None:
    """The value sealed in ``body`` (a sealed value without its prefix and key id); ``None``
    when its key is gone — crypto-shredded, the value is gone for good."""
    if cipher is None:
        return None
    try:
        return open_body(cipher, field, body)
    except KeyUnavailable:
        return None


def _plain(value: Any) -> bool:
    return value is not None and value != "" and not is_sealed(value)
