"""Engine-level copies of the store: consistent online snapshots (SQLite's backup API,
``pg_dump``) and putting one back in place (file replacement, ``pg_restore``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from clientela.domain.errors import StoreNotReady
from clientela.storage.store import Store

__all__ = ["KEYS_TABLE", "pg_dump", "pg_restore", "replace_sqlite", "sqlite_snapshot"]

#: The table of customers' data keys, which no backup contains.
KEYS_TABLE = "customer_keys"


def sqlite_snapshot(store: Store, target: Path) -> None:
    raw = store.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)  # a consistent copy while others read and write
            # Data keys stay out of backups (crypto-shredding): wiped, then the file rewritten.
            destination.execute("PRAGMA secure_delete=ON")
            destination.execute(f"DELETE FROM {KEYS_TABLE}")  # noqa: S608 (a constant)
            destination.commit()
            destination.execute("VACUUM")
        finally:
            destination.close()
    finally:
        raw.close()


def replace_sqlite(snapshot: Path, database: Path) -> None:
    check = sqlite3.connect(snapshot)
    try:
        if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise StoreNotReady("The snapshot is not a sound SQLite database.")
    finally:
        check.close()
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    os.replace(snapshot, database)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        raise StoreNotReady(f"{name} is needed for PostgreSQL backups (package postgresql-client).")
    return str(candidates[-1])


def _libpq_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_dump(store: Store, target: Path) -> None:
    url = _libpq_url(store.engine.url.render_as_string(hide_password=False))
    _run(
        [
            _pg_bin("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--exclude-table-data={KEYS_TABLE}",  # data keys stay out of backups
            "--file",
            str(target),
            url,
        ]
    )


def pg_restore(store_url: str, snapshot: Path) -> None:
    url = _libpq_url(store_url)
    _run(
        [
            _pg_bin("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            url,
            str(snapshot),
        ]
    )


def _run(command: list[str]) -> None:
    # The command is built here from fixed arguments and the configured store URL.
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        # The message names the tool and its complaint; the URL (with a password) is not shown.
        raise StoreNotReady(f"{Path(command[0]).name} failed: {result.stderr.strip()[-400:]}")
