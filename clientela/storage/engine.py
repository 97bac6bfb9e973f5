"""Engine set-up: SQLite in WAL mode with foreign keys by default, PostgreSQL by URL."""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from clientela.storage.checkpoints import Checkpointer

__all__ = ["make_engine", "sqlite_url", "stop_checkpoints"]

#: Seconds a writer waits for SQLite's write lock (``busy_timeout``), and for its turn first.
_BUSY_SECONDS = 30


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+pysqlite:///{(data_dir / 'clientela.db').resolve()}"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(
        url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=10
    )


class WriterQueue:
    """The writers of one SQLite file in this process, served first come, first served.

    SQLite lets one writer in at a time and makes the others poll, sleeping up to 100 ms between
    tries: under load some writers lose every race and wait seconds while others pass. A writer
    here waits its turn on an event instead and is woken the moment the one before it commits
    (sixteen tracking calls at once: p99 1.85 s before). Other processes still meet SQLite's own
    lock; a writer whose turn does not come in time goes on to meet it too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._busy = False
        #: driver connections whose transaction holds the turn
        self._holders: set[int] = set()

    def acquire(self, holder: Any, timeout: float = _BUSY_SECONDS) -> None:
        with self._lock:
            if not self._busy:
                self._busy = True
                self._holders.add(id(holder))
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait(timeout)
        with self._lock:  # handed over, perhaps just as the wait timed out
            if turn.is_set():
                self._holders.add(id(holder))
            else:
                self._waiting.remove(turn)  # SQLite's busy timeout decides from here

    def release(self, holder: Any) -> None:
        # SQLAlchemy hands the dialect its pool's proxy; the begin event saw the driver's own.
        holder = getattr(holder, "driver_connection", holder)
        with self._lock:
            if id(holder) not in self._holders:
                return
            self._holders.discard(id(holder))
            if self._waiting:
                self._waiting.popleft().set()  # the turn passes on, still taken
            else:
                self._busy = False


_QUEUES: dict[str, WriterQueue] = {}
_CHECKPOINTERS: dict[str, Checkpointer] = {}
_QUEUES_LOCK = threading.Lock()


def _writer_queue(url: str) -> WriterQueue:
    """One queue per database file, shared by every engine of this process on it."""
    with _QUEUES_LOCK:
        return _QUEUES.setdefault(url, WriterQueue())


def _checkpointer(url: str, path: str) -> Checkpointer:
    """One checkpointer per database file, beside its writers' queue."""
    queue = _writer_queue(url)
    with _QUEUES_LOCK:
        return _CHECKPOINTERS.setdefault(url, Checkpointer(path, queue))


def stop_checkpoints(url: str) -> None:
    """End the file's checkpoint thread, if it runs (the next commit would start it again)."""
    with _QUEUES_LOCK:
        checkpointer = _CHECKPOINTERS.get(url)
    if checkpointer is not None:
        checkpointer.stop()


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    in_memory = url.rstrip("/").endswith(":memory:") or url.rstrip("/") in (
        "sqlite:",
        "sqlite+pysqlite:",
    )
    pool = {} if in_memory else {"pool_size": 8, "max_overflow": 8}
    engine = create_engine(
        url,
        echo=echo,
        # Statement parameters are personal data: keep them out of exceptions and logs.
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": _BUSY_SECONDS},
        **pool,
    )
    # An in-memory database is one per connection: nothing to queue for, no WAL.
    queue = None if in_memory else _writer_queue(url)
    checkpointer = None if in_memory else _checkpointer(url, str(engine.url.database))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode except on power loss
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA secure_delete=ON")  # erased values do not linger in free pages
        cursor.execute("PRAGMA cache_size=-65536")
        if checkpointer is not None:  # it copies the WAL back, not the commits (checkpoints.py)
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock at BEGIN: no deadlock when a read turns into a write.
        # Straight to the driver: this runs once per transaction, on the hottest paths.
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        if connection.get_execution_options().get("clientela_write", True):
            if queue is not None:
                queue.acquire(dbapi)
            try:
                dbapi.execute("BEGIN IMMEDIATE")
            except BaseException:
                if queue is not None:
                    queue.release(dbapi)
                raise
        else:
            dbapi.execute("BEGIN")

    if queue is not None and checkpointer is not None:
        _release_after(engine, queue, checkpointer)
    return engine


def _release_after(engine: Engine, queue: WriterQueue, checkpointer: Checkpointer) -> None:
    """The turn passes on once the transaction has ended, commit or rollback (the pool's
    rollback of a connection given back included): not before, or the next writer would meet
    the lock still held. A commit also tells the checkpointer that the WAL has grown."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            queue.release(dbapi_connection)
        checkpointer.nudge()

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            queue.release(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    # A connection closed or invalidated inside its transaction ends it too.
    @event.listens_for(engine, "close")
    @event.listens_for(engine, "invalidate")
    def _ended(dbapi_connection: Any, *_: Any) -> None:
        queue.release(dbapi_connection)
