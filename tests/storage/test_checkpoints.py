"""The WAL is copied back into the database file by a thread beside the writers."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from clientela.storage.checkpoints import Checkpointer
from clientela.storage.engine import WriterQueue, _checkpointer
from clientela.storage.store import Store
from tests.storage.waiting import until

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _wal_state(path: str) -> tuple[int, int]:
    """(frames in the WAL, frames copied), read without copying anything."""
    connection = sqlite3.connect(path)
    try:
        # A NOOP checkpoint does not exist; PASSIVE with nothing due reports the same counts.
        _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, copied
    finally:
        connection.close()


def _wal_writer(path: str) -> sqlite3.Connection:
    """A connection in WAL mode that leaves checkpoints to the test, on a table ``t``."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x)")
    return writer


def _database(store: Store) -> str:
    return str(store.engine.url.database)


def test_commits_leave_the_copy_to_the_checkpointer(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    checkpointer = _checkpointer(sqlite_store.url, _database(sqlite_store))
    with sqlite_store.unit_of_work() as uow:
        uow.store_meta.set("copied-back", "yes", NOW)
        uow.commit()
    assert checkpointer.running  # started by the commit
    assert not checkpointer.due()  # a few pages: not worth a pass yet
    with sqlite_store.unit_of_work() as uow:
        for n in range(1_100):  # a page each, past the thousand
            uow.store_meta.set(f"page-{n}", "x" * 3_000, NOW)
        uow.commit()
    until(lambda: _wal_state(_database(sqlite_store))[1] >= 1_000)


def test_a_pass_is_due_once_a_thousand_pages_wait(tmp_path: Path) -> None:
    path = str(tmp_path / "due.db")
    writer = _wal_writer(path)
    checkpointer = Checkpointer(path, WriterQueue(), pass_frames=100)
    for _ in range(10):
        writer.execute("INSERT INTO t VALUES (randomblob(3000))")
    assert not checkpointer.due()
    for _ in range(100):
        writer.execute("INSERT INTO t VALUES (randomblob(3000))")
    assert checkpointer.due()
    checkpointer.checkpoint()
    assert not checkpointer.due()  # copied
    writer.close()


def test_the_thread_ends_when_quiet_and_a_commit_starts_it_again(tmp_path: Path) -> None:
    path = str(tmp_path / "quiet.db")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    checkpointer = Checkpointer(path, WriterQueue(), quiet_seconds=0.1)
    checkpointer.nudge()
    assert checkpointer.running
    until(lambda: not checkpointer.running)
    connection.execute("INSERT INTO t VALUES (1)")
    checkpointer.nudge()
    assert checkpointer.running
    checkpointer.stop()
    assert not checkpointer.running
    connection.close()


def test_past_its_size_the_wal_is_truncated(tmp_path: Path) -> None:
    path = str(tmp_path / "busy.db")
    writer = _wal_writer(path)
    checkpointer = Checkpointer(path, WriterQueue(), restart_frames=64)
    for _ in range(10):
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    assert checkpointer.checkpoint()[0] < 64  # copied, the file kept for reuse
    assert os.path.getsize(path + "-wal") > 0
    for _ in range(100):  # under load no commit finds the WAL all copied: it only grows
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    checkpointer.checkpoint()
    assert os.path.getsize(path + "-wal") == 0
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == 110
    writer.close()


def test_a_reader_on_an_older_snapshot_delays_the_truncation_without_holding_writers(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "reader.db")
    writer = _wal_writer(path)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot
    queue = WriterQueue()
    checkpointer = Checkpointer(path, queue, restart_frames=16)
    for _ in range(40):
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    frames, _ = checkpointer.checkpoint()
    assert frames > 0  # not truncated: the reader still needs the WAL
    assert not queue._busy  # the writers' turn was given back
    reader.execute("COMMIT")
    for _ in range(20):
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    checkpointer.checkpoint()  # next try comes once the WAL has grown by the size again
    assert os.path.getsize(path + "-wal") == 0
    reader.close()
    writer.close()


def test_disposing_the_store_ends_the_thread(tmp_path: Path, sqlite_store: Store) -> None:
    checkpointer = _checkpointer(sqlite_store.url, _database(sqlite_store))
    with sqlite_store.unit_of_work() as uow:
        uow.store_meta.set("disposed", "yes", NOW)
        uow.commit()
    assert checkpointer.running
    sqlite_store.dispose()
    assert not checkpointer.running
    assert not os.path.exists(_database(sqlite_store) + "-wal")  # the last connection removed it


def test_a_failed_pass_ends_the_thread_and_the_next_commit_starts_another(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "fails.db")
    checkpointer = Checkpointer(path, WriterQueue(), pass_frames=0)

    def broken() -> tuple[int, int]:
        raise OSError("disk gone")

    checkpointer.checkpoint = broken  # type: ignore[method-assign]
    checkpointer.nudge()
    until(lambda: not checkpointer.running)
    del checkpointer.checkpoint  # the real one again
    checkpointer.nudge()
    assert checkpointer.running
    checkpointer.stop()
    assert not checkpointer.running
