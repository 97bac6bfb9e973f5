"""Encrypted, checksummed backups of the store, and restores that keep erased people erased.

A backup is a consistent online snapshot (SQLite's backup API; ``pg_dump`` custom format for
PostgreSQL), encrypted in 4 MiB chunks with AES-256-GCM under a key derived from the master
key. The header (format, time, engine, schema revision, size and SHA-256 of the snapshot) is
authenticated with every chunk, each chunk's nonce and additional data carry its index and
whether it is the last, so a reordered, cut or edited archive fails verification, naming the
chunk. A restore verifies first, replaces the store, brings the schema up to date, then replays
the erasure journal (``privacy/journal.py``): people erased after the backup are erased again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import ClientelaError, Conflict
from clientela.privacy import journal
from clientela.security.keyring import Keyring
from clientela.settings import Settings
from clientela.storage import snapshots
from clientela.storage.store import Store

__all__ = [
    "BackupInfo",
    "BackupInvalid",
    "create_backup",
    "export_keys",
    "list_backups",
    "restore_backup",
    "verify_backup",
]

MAGIC = b"CLIENTELA-BACKUP\n"
FORMAT = 1
CHUNK = 4 * 1024 * 1024
#: what an archive holds (its header says; archives from before hold a store)
STORE_CONTENTS = "store"
KEYS_CONTENTS = "data-keys"


class BackupInvalid(ClientelaError):
    status = 422
    code = "backup_invalid"
    title = "Backup refused"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    created_at: str
    dialect: str
    revision: str | None
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "created_at": self.created_at,
            "dialect": self.dialect,
            "revision": self.revision,
            "size": self.size,
            "sha256": self.sha256,
        }


def create_backup(store: Store, path: Path) -> BackupInfo:
    """Snapshot the store while it runs, then encrypt it to ``path`` (written atomically)."""
    with tempfile.TemporaryDirectory(prefix="clientela-backup-") as work:
        snapshot = Path(work) / "snapshot"
        if store.dialect == "sqlite":
            snapshots.sqlite_snapshot(store, snapshot)
        else:
            snapshots.pg_dump(store, snapshot)
        digest, size = _digest(snapshot)
        with snapshot.open("rb") as source:
            return _write_archive(
                store, path, source, size=size, sha256=digest, contents=STORE_CONTENTS
            )


def verify_backup(path: Path, keyring: Keyring) -> BackupInfo:
    """Decrypt every chunk and check the snapshot's size and SHA-256; nothing is written."""
    header, chunks = _open(path, keyring)
    digest, size = hashlib.sha256(), 0
    for plain in chunks:
        digest.update(plain)
        size += len(plain)
    _check_totals(header, digest.hexdigest(), size)
    return _info(path, header)


def restore_backup(
    path: Path,
    *,
    settings: Settings,
    keyring: Keyring,
    actor: Actor,
    keys: Path | None = None,
) -> dict[str, Any]:
    """Replace the store with the backup, then erase again whoever the journal says was erased.

    ``keys`` is a key export (``export_keys``) for a machine that lost its store: its data keys
    go in beside the live ones, and its erasure journal is used when this machine has none.
    The server and other commands must be stopped: the store file is replaced underneath them.
    """
    # the key export first: once the backup is open, its file stays open until read through
    exported = _read_key_export(keys, keyring, settings.data_dir) if keys is not None else []
    header, chunks = _open(path, keyring, STORE_CONTENTS)
    keyring = _root_of(header, keyring)
    if header["dialect"] != ("sqlite" if settings.database_url is None else "postgresql"):
        raise BackupInvalid(f"This is a {header['dialect']} backup; the store here is not.")
    tombstones = journal.read(settings.data_dir, keyring)
    # Backups hold no data keys: the live store's keys go back in after the restore; people
    # erased since the backup have none, so their sealed fields stay unreadable.
    by_id = {str(row["key_id"]): row for row in exported}
    by_id.update((str(row["key_id"]), row) for row in _live_keys(settings, keyring))
    kept_keys = list(by_id.values())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="clientela-restore-", dir=settings.data_dir) as work:
        snapshot = Path(work) / "snapshot"
        digest, size = hashlib.sha256(), 0
        with snapshot.open("wb") as target:
            for plain in chunks:
                digest.update(plain)
                size += len(plain)
                target.write(plain)
        _check_totals(header, digest.hexdigest(), size)
        if header["dialect"] == "sqlite":
            snapshots.replace_sqlite(snapshot, settings.data_dir / "clientela.db")
        else:
            snapshots.pg_restore(settings.store_url, snapshot)
    store = Store(settings.store_url, keyring=keyring)
    try:
        store.upgrade()
        _adopt_master(store, keyring)
        with store.unit_of_work() as uow:
            restored_keys = uow.sealer.put_back(kept_keys) if uow.sealer else 0
            uow.commit()
        replayed = _replay(store, tombstones, settings=settings, actor=actor)
    finally:
        store.dispose()
    return {
        "restored": _info(path, header).as_dict(),
        "data_keys": restored_keys,
        "erased_again": replayed,
    }


def export_keys(store: Store, path: Path, *, data_dir: Path) -> BackupInfo:
    """The store's data keys (as stored: wrapped under the root key) and its erasure journal,
    encrypted like a backup, in a file of their own (written atomically).

    Backups never hold data keys, so that an erased person's copy in an old backup stays
    unreadable; a machine that loses its store loses the keys with it. This export is what
    brings sealed fields back there (``restore_backup(..., keys=)``). It is the one copy of the
    keys outside the store: keep only the newest, apart from the backups, and make it often —
    an erased person's key lives on in an export made before the erasure until the next one
    replaces it, and its journal erases again everyone erased before it was made.
    """
    with store.unit_of_work(write=False) as uow:
        rows = uow.sealer.wrapped_keys() if uow.sealer else []
    journal_file = data_dir / journal.JOURNAL_NAME
    payload = json.dumps(
        {
            "keys": [
                {
                    "key_id": str(row["key_id"]),
                    "wrapped": base64.b64encode(bytes(row["wrapped"])).decode(),
                    "created_at": row["created_at"].isoformat(),
                }
                for row in rows
            ],
            "journal": journal_file.read_text(encoding="utf-8") if journal_file.exists() else "",
        }
    ).encode()
    return _write_archive(
        store,
        path,
        io.BytesIO(payload),
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        contents=KEYS_CONTENTS,
        data_keys=len(rows),
    )


def _write_archive(
    store: Store,
    path: Path,
    source: IO[bytes],
    *,
    size: int,
    sha256: str,
    contents: str,
    **extra: Any,
) -> BackupInfo:
    """Encrypt ``source`` under the store's root key to ``path``, written atomically (a
    ``.partial`` file renamed into place), readable by its owner only."""
    keyring = store.keyring()
    header = {
        "format": FORMAT,
        "contents": contents,
        "created_at": utcnow().isoformat(),
        "dialect": store.dialect,
        "revision": store.revision(),
        "size": size,
        "sha256": sha256,
        "key_check": keyring.check_value,
        # The root key under today's master, so the archive opens after a key rotation too
        # (with the master of the day it was made).
        "wrapped_root": keyring.wrapped_root(),
        "nonce_prefix": secrets.token_hex(4),
        **extra,
    }
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as target:
        _encrypt(keyring, header, source, target)
    os.chmod(partial, 0o600)
    partial.replace(path)
    return _info(path, header)


def _read_key_export(path: Path, keyring: Keyring, data_dir: Path) -> list[dict[str, Any]]:
    """The wrapped keys of a key export; its journal becomes this machine's when it has none
    (a machine that kept its journal knows of every later erasure too)."""
    header, chunks = _open(path, keyring, KEYS_CONTENTS)
    payload = b"".join(chunks)
    _check_totals(header, hashlib.sha256(payload).hexdigest(), len(payload))
    content = json.loads(payload)
    journal_file = data_dir / journal.JOURNAL_NAME
    if content["journal"] and not journal_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        journal_file.write_text(content["journal"], encoding="utf-8")
        os.chmod(journal_file, 0o600)
    return [
        {
            "key_id": row["key_id"],
            "wrapped": base64.b64decode(row["wrapped"]),
            "created_at": datetime.fromisoformat(row["created_at"]),
        }
        for row in content["keys"]
    ]


def _root_of(header: dict[str, Any], keyring: Keyring) -> Keyring:
    """The master with the root key the backup was made under (its header carries it wrapped)."""
    return keyring.with_store(header.get("wrapped_root"), None)


def _live_keys(settings: Settings, keyring: Keyring) -> list[dict[str, Any]]:
    if settings.database_url is None and not (settings.data_dir / "clientela.db").exists():
        return []
    store = Store(settings.store_url, keyring=keyring)
    try:
        if store.revision() is None or not store.is_current():
            return []
        with store.unit_of_work(write=False) as uow:
            return uow.sealer.wrapped_keys() if uow.sealer else []
    except ClientelaError:
        return []
    finally:
        store.dispose()


def _adopt_master(store: Store, keyring: Keyring) -> None:
    """The restored store's key facts are those of the master that restored it (the root is
    the same: the backup's check value proved it)."""
    from clientela.storage.store import MASTER_CHECK_META, ROOT_KEY_META

    with store.unit_of_work() as uow:
        uow.store_meta.set(MASTER_CHECK_META, keyring.master_check, utcnow())
        uow.store_meta.set(ROOT_KEY_META, keyring.wrapped_root(), utcnow())
        uow.commit()


# --- erasure replay -----------------------------------------------------------------------------


def _replay(
    store: Store, tombstones: list[journal.ErasureTombstone], *, settings: Settings, actor: Actor
) -> int:
    from clientela.privacy.erasure import COMPACTED_TABLES, erase_person

    erased = 0
    with store.unit_of_work() as uow:
        for tombstone in tombstones:
            uow.suppressions.add_many(
                [
                    {
                        "hash": digest,
                        "kind": kind,
                        "reason": "erasure",
                        "request_id": tombstone.request_id,
                        "created_at": tombstone.occurred_at,
                    }
                    for digest, kind in tombstone.suppression
                ]
            )
            for profile in tombstone.profiles:
                row = uow.customers.get(profile)
                if row is None or row["status"] == "erased":
                    continue
                try:
                    erase_person(
                        uow,
                        profile,
                        actor=actor,
                        settings=settings,
                        legal_basis="erasure replayed after a restore "
                        f"(request {tombstone.request_id})",
                        request_id=tombstone.request_id,
                        suppress_identifiers=False,
                    )
                except Conflict:  # merged into a profile erased just before
                    continue
                erased += 1
        uow.commit()
    if erased:
        store.compact(COMPACTED_TABLES)
    return erased


# --- the archive --------------------------------------------------------------------------------


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">Q?", index, final)


def _nonce(prefix: str, index: int) -> bytes:
    return bytes.fromhex(prefix) + struct.pack(">Q", index)


def _encrypt(
    keyring: Keyring, header: dict[str, Any], source: IO[bytes], target: IO[bytes]
) -> None:
    raw_header = json.dumps(header, sort_keys=True).encode()
    header_digest = hashlib.sha256(raw_header).digest()
    cipher = AESGCM(keyring.derive("backup"))
    target.write(MAGIC + struct.pack(">I", len(raw_header)) + raw_header)
    index = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        final = not following
        sealed = cipher.encrypt(
            _nonce(header["nonce_prefix"], index), chunk, _aad(header_digest, index, final)
        )
        target.write(struct.pack(">I", len(sealed)) + sealed)
        if final:
            return
        chunk, index = following, index + 1


def _open(
    path: Path, keyring: Keyring, contents: str | None = None
) -> tuple[dict[str, Any], Iterator[bytes]]:
    """The header of an archive and its decrypted chunks; ``contents`` (a store, data keys)
    is checked first when given."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BackupInvalid(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        header, raw_header = _read_header(handle, path)
    except BackupInvalid:
        handle.close()
        raise
    found = header.get("contents", STORE_CONTENTS)
    if contents is not None and found != contents:
        handle.close()
        raise BackupInvalid(
            f"{path.name} is a key export, not a backup of the store."
            if found == KEYS_CONTENTS
            else f"{path.name} is not a key export."
        )
    try:
        keyring = _root_of(header, keyring)
    except ClientelaError:
        handle.close()
        raise BackupInvalid(
            "This backup was made under another master key: restore that key first."
        ) from None
    if header.get("key_check") != keyring.check_value:
        handle.close()
        raise BackupInvalid(
            "This backup was made under another master key: restore that key first."
        )
    header_digest = hashlib.sha256(raw_header).digest()
    cipher = AESGCM(keyring.derive("backup"))

    def chunks() -> Iterator[bytes]:
        with handle:
            index = 0
            while True:
                prefix = handle.read(4)
                if len(prefix) < 4:
                    raise BackupInvalid(f"The backup ends before its last chunk ({index}): cut.")
                (size,) = struct.unpack(">I", prefix)
                sealed = handle.read(size)
                nonce = _nonce(header["nonce_prefix"], index)
                for final in (False, True):
                    try:
                        plain = cipher.decrypt(nonce, sealed, _aad(header_digest, index, final))
                    except InvalidTag:
                        continue
                    yield plain
                    if final:
                        if handle.read(1):
                            raise BackupInvalid("Data follows the last chunk: the file was edited.")
                        return
                    break
                else:
                    raise BackupInvalid(
                        f"Chunk {index} fails authentication: the backup was altered or damaged."
                    )
                index += 1

    return header, chunks()


def _read_header(handle: IO[bytes], path: Path) -> tuple[dict[str, Any], bytes]:
    """The plain header at the start of a backup (what it is, not its contents), and its
    bytes (authenticated with every chunk)."""
    if handle.read(len(MAGIC)) != MAGIC:
        raise BackupInvalid(f"{path.name} is not a Clientela backup.")
    length_bytes = handle.read(4)
    if len(length_bytes) != 4:
        raise BackupInvalid(f"The header of {path.name} is damaged.")
    (length,) = struct.unpack(">I", length_bytes)
    raw_header = handle.read(length)
    try:
        header = json.loads(raw_header)
    except ValueError:
        raise BackupInvalid(f"The header of {path.name} is damaged.") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise BackupInvalid(f"Backup format {found} is not supported here.")
    return header, raw_header


def list_backups(directory: Path) -> list[BackupInfo]:
    """The backups in ``directory``, newest first, from their headers alone (no key needed;
    ``verify_backup`` checks the contents). Other files are left out."""
    found = []
    for path in directory.glob("*.backup") if directory.is_dir() else ():
        try:
            with path.open("rb") as handle:
                header, _ = _read_header(handle, path)
            found.append(_info(path, header))
        except (OSError, BackupInvalid, KeyError):
            continue
    return sorted(found, key=lambda info: info.created_at, reverse=True)


def _check_totals(header: dict[str, Any], digest: str, size: int) -> None:
    if size != header["size"] or digest != header["sha256"]:
        raise BackupInvalid("The restored snapshot does not match the backup's checksum.")


def _info(path: Path, header: dict[str, Any]) -> BackupInfo:
    return BackupInfo(
        path=path,
        created_at=header["created_at"],
        dialect=header["dialect"],
        revision=header["revision"],
        size=header["size"],
        sha256=header["sha256"],
    )


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
