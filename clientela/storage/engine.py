"""Engine set-up: SQLite in WAL mode with foreign keys by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

__all__ = ["make_engine", "sqlite_url"]


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
        connect_args={"check_same_thread": False, "timeout": 30},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode except on power loss
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")  # erased values do not linger in free pages
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock at BEGIN: no deadlock when a read turns into a write.
        # Straight to the driver: this runs once per transaction, on the hottest paths.
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        if connection.get_execution_options().get("clientela_write", True):
            dbapi.execute("BEGIN IMMEDIATE")
        else:
            dbapi.execute("BEGIN")

    return engine
