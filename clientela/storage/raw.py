"""The driver-level fast path for the hottest statements (profile reads, key checks, bulk inserts).

SQLAlchemy Core costs about 100-250 µs of Python per statement on a wide row; the same statement
on the DB-API cursor costs 10-20 µs. Hot paths use this module: statements are written once per
table, values are converted exactly as the SQLAlchemy column types would (tests read and write
through both paths on both engines and compare).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Date, Table

from clientela.storage.types import UTCDateTime

__all__ = [
    "cursor",
    "db_datetime",
    "execute_many",
    "fetch_all",
    "in_lists",
    "scalar",
    "select_rows",
    "streaming_cursor",
]

Converter = Callable[[Any], Any]

#: Values bound in one ``IN (...)`` list: under every engine's limit on parameters.
IN_LIST_SIZE = 900


def in_lists(values: Sequence[Any]) -> Iterator[tuple[Sequence[Any], str]]:
    """``values`` in slices for ``IN (...)`` lists: each slice with its ``?, ?, ...`` marks."""
    for start in range(0, len(values), IN_LIST_SIZE):
        chunk = values[start : start + IN_LIST_SIZE]
        yield chunk, ", ".join("?" for _ in chunk)


def _is_json(column_type: Any) -> bool:
    return isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON)


@lru_cache(maxsize=8192)
def _sqlite_datetime_in(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_date_in(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _json_in(text: str | bytes | None) -> Any:
    return None if text is None else orjson.loads(text)


def _boolean_in(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


@cache
def _plan(
    table: Table, names: tuple[str, ...], dialect: str
) -> tuple[tuple[str, Converter | None], ...]:
    """Each column with the converter its driver value needs (None: taken as it comes)."""
    readers: list[Converter | None] = []
    for name in names:
        kind = table.columns[name].type
        if isinstance(kind, UTCDateTime):
            readers.append(_sqlite_datetime_in if dialect == "sqlite" else _utc)
        elif dialect != "sqlite":
            readers.append(None)  # psycopg returns dates, JSON and booleans typed already
        elif isinstance(kind, Date):
            readers.append(_sqlite_date_in)
        elif _is_json(kind):
            readers.append(_json_in)
        elif isinstance(kind, Boolean):
            readers.append(_boolean_in)
        else:
            readers.append(None)
    return tuple(zip(names, readers, strict=True))


def _driver(connection: Connection) -> Any:
    """The DB-API connection inside the unit of work's transaction (begun here if need be)."""
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.driver_connection


def cursor(connection: Connection) -> Any:
    """A DB-API cursor inside the unit of work's transaction."""
    return _driver(connection).cursor()


def streaming_cursor(connection: Connection, name: str) -> Any:
    """Like ``cursor``, for a result read in batches and too large to hold at once: on
    PostgreSQL a server-side cursor (psycopg's client cursor would fetch every row at
    ``execute``); SQLite's cursor steps through the rows already."""
    driver = _driver(connection)
    return driver.cursor() if connection.dialect.name == "sqlite" else driver.cursor(name=name)


def placeholders(connection: Connection, sql: str) -> str:
    return sql if connection.dialect.name == "sqlite" else sql.replace("?", "%s")


def select_rows(
    connection: Connection,
    table: Table,
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "",
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """``SELECT columns FROM table WHERE <where> [ORDER BY ...]`` with typed values.

    ``where`` and ``order_by`` are written by the storage layer (never from input) with ``?``
    placeholders; values always go in ``params``.
    """
    names = tuple(str(name) for name in columns) if columns else _all_columns(table)
    dialect = connection.dialect.name
    fetched = fetch_all(connection, _select_sql(table, names, where, order_by), params)
    plan = _plan(table, names, dialect)
    return [
        {
            name: value if read is None else read(value)
            for (name, read), value in zip(plan, row, strict=True)
        }
        for row in fetched
    ]


@cache
def _all_columns(table: Table) -> tuple[str, ...]:
    return tuple(str(column.name) for column in table.columns)


@lru_cache(maxsize=1024)
def _select_sql(table: Table, names: tuple[str, ...], where: str, order_by: str) -> str:
    """The statement text, built once per shape (a profile read lists 45 columns)."""
    listed = ", ".join(f'"{name}"' for name in names)
    sql = f'SELECT {listed} FROM "{table.name}" WHERE {where}'  # noqa: S608 - see select_rows
    return f"{sql} ORDER BY {order_by}" if order_by else sql


def fetch_all(connection: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a statement written with ``?`` placeholders, as the driver returns them."""
    db = cursor(connection)
    try:
        db.execute(placeholders(connection, sql), tuple(params))
        return list(db.fetchall())
    finally:
        db.close()


def execute_many(connection: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """A statement with ``?`` placeholders for each row; values already as the driver wants them
    (see ``db_datetime``)."""
    if not rows:
        return
    db = cursor(connection)
    try:
        db.executemany(placeholders(connection, sql), [tuple(row) for row in rows])
    finally:
        db.close()


def db_datetime(connection: Connection, value: datetime) -> Any:
    """A timestamp as the UTCDateTime column stores it on this engine."""
    if connection.dialect.name == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def scalar(connection: Connection, sql: str, params: Sequence[Any]) -> Any:
    rows = fetch_all(connection, sql, params)
    return rows[0][0] if rows else None
