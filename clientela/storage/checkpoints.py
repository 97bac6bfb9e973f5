"""SQLite's WAL copied back into the database file beside the writers, not inside their commits."""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from typing import Protocol

__all__ = ["Checkpointer"]

log = logging.getLogger(__name__)

#: Frames (pages) in the WAL past which it is truncated: 64 MB of 4 KB pages.
RESTART_FRAMES = 16_384
#: Frames not yet copied that make a pass worth its two syncs: SQLite's own automatic threshold.
PASS_FRAMES = 1_000
#: Seconds a pass waits after being called, so that one pass serves the commits around it.
_GATHER_SECONDS = 0.05
#: Seconds without a commit after which the thread ends (the next commit starts another).
_QUIET_SECONDS = 2.0
#: Seconds the truncation waits for readers on an older snapshot before giving up this time.
_READER_WAIT_SECONDS = 0.1


class Turns(Protocol):
    """The writers' turns of the database file (``engine.WriterQueue``)."""

    def acquire(self, holder: object, timeout: float = ...) -> None: ...

    def release(self, holder: object) -> None: ...


class Checkpointer:
    """Copies committed pages from the WAL into the database file in a thread of its own.

    SQLite's automatic checkpoint runs in the commit that takes the WAL past 1,000 pages: that
    writer, and every writer queued behind it, waits while pages are copied and the file is
    synced — a quarter of the tracking API's time. The writers' connections turn it off
    (``wal_autocheckpoint=0``) and call :meth:`nudge` after each commit; once 1,000 pages wait,
    as SQLite would, this thread copies them beside the writers (PASSIVE: it neither waits for
    nor blocks a writer).

    SQLite starts the WAL over only when a writer finds every page of it copied, which a steady
    stream of writers never allows: past ``restart_frames`` the thread takes a writer's turn for
    the last few pages and truncates the file. Each pass opens its own connection, so that the
    store's last connection to close still checkpoints and removes the WAL as SQLite does.
    """

    def __init__(
        self,
        path: str,
        turns: Turns,
        *,
        restart_frames: int = RESTART_FRAMES,
        pass_frames: int = PASS_FRAMES,
        quiet_seconds: float = _QUIET_SECONDS,
    ) -> None:
        self._path = path
        self._turns = turns
        self._restart_frames = restart_frames
        self._pass_frames = pass_frames
        self._quiet_seconds = quiet_seconds
        self._due = threading.Event()
        self._halt = threading.Event()  # set by stop(): no more passes, no new thread
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: WAL size (frames) at which the next truncation is tried (raised when readers prevent it)
        self._truncate_at = restart_frames

    @property
    def running(self) -> bool:
        return self._thread is not None

    def nudge(self) -> None:
        """A commit happened: a pass is due (the thread starts if it had ended)."""
        self._due.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._halt.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="clientela-wal-checkpoint", daemon=True
                    )
                    self._thread.start()

    def stop(self) -> None:
        """End the thread (its pass, if one is running, completes first)."""
        with self._lock:
            thread = self._thread
            self._halt.set()
        self._due.set()
        if thread is not None:
            thread.join()
        with self._lock:
            self._halt.clear()
            self._due.clear()

    def due(self) -> bool:
        """Whether enough of the WAL waits to be copied to make a pass worth it.

        Read from the wal-index header in the ``-shm`` file (https://www.sqlite.org/walformat.html:
        ``mxFrame`` at byte 16, ``nBackfill`` at byte 96, native byte order) without a lock: a
        hint, and a cheap one. Small commits (a read's audit entry) would otherwise pay a pass,
        and its syncs, every few commits: reads at 16 connections lost 15%."""
        try:
            with open(self._path + "-shm", "rb") as shm:
                header = shm.read(100)
        except OSError:
            return True  # let the pass find out
        if len(header) < 100:
            return True
        frames = int.from_bytes(header[16:20], sys.byteorder)
        copied = int.from_bytes(header[96:100], sys.byteorder)
        return frames - copied >= self._pass_frames

    def checkpoint(self) -> tuple[int, int]:
        """One pass: copy what the readers allow, truncate past the size. Returns the WAL's
        frames and those copied, as SQLite reports them after the pass."""
        connection = sqlite3.connect(self._path, timeout=_READER_WAIT_SECONDS, isolation_level=None)
        try:
            _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames >= self._truncate_at:
                self._turns.acquire(connection)
                try:
                    busy, frames, copied = connection.execute(
                        "PRAGMA wal_checkpoint(TRUNCATE)"
                    ).fetchone()
                finally:
                    self._turns.release(connection)
                # A reader on an older snapshot kept it: try again once the WAL has grown more.
                self._truncate_at = frames + self._restart_frames if busy else self._restart_frames
            return frames, copied
        finally:
            connection.close()

    def _run(self) -> None:
        try:
            while True:
                if not self._due.wait(self._quiet_seconds):
                    with self._lock:
                        if not self._due.is_set():
                            self._thread = None
                            return
                    continue
                if self._halt.wait(_GATHER_SECONDS):
                    break
                self._due.clear()
                if self.due():
                    self.checkpoint()
        except (sqlite3.Error, OSError) as error:
            # The next commit starts a new thread; meanwhile the WAL only grows.
            log.warning("WAL checkpoint failed: %s", error)
        finally:
            with self._lock:  # whatever ended it; a thread started since stays known
                if self._thread is threading.current_thread():
                    self._thread = None
