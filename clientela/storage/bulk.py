"""Set-based inserts for bulk paths, below SQLAlchemy's per-row parameter processing.

The statement is built once per table; values are converted to what the driver stores by a
converter per column type, the same way SQLAlchemy's types would store them (the tests read
bulk-inserted rows back through the normal repositories on both engines). PostgreSQL uses COPY.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Date, Table
from sqlalchemy.exc import IntegrityError

from clientela.storage import raw
from clientela.storage.types import UTCDateTime

__all__ = ["insert_rows", "update_rows"]

Converter = Callable[[Any], Any]


@lru_cache(maxsize=4096)
def _sqlite_datetime(value: datetime | None) -> str | None:
    # Cached: a bulk write stamps thousands of rows with the same few instants.
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> str | None:
    # Keys may be str subclasses (SQLAlchemy's column and table names), which orjson refuses
    # without this option.
    return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _boolean(value: bool | None) -> int | None:
    return None if value is None else int(value)


@cache
def _sqlite_plan(table: Table, names: tuple[str, ...]) -> tuple[str, tuple[Converter | None, ...]]:
    converters: list[Converter | None] = []
    for name in names:
        column = table.columns[name]
        kind = column.type
        if isinstance(kind, UTCDateTime):
            converters.append(_sqlite_datetime)
        elif isinstance(kind, Date):
            converters.append(_sqlite_date)
        elif isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
            converters.append(_json)
        elif isinstance(kind, Boolean):
            converters.append(_boolean)
        else:
            converters.append(None)
    quoted = ", ".join(f'"{name}"' for name in names)
    placeholders = ", ".join("?" for _ in names)
    # Table and column names come from tables.py, never from input.
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})'  # noqa: S608
    return sql, tuple(converters)


def _columns(
    table: Table, rows: Sequence[Mapping[str, Any]], blank: Mapping[str, Any]
) -> tuple[str, ...]:
    """The columns some row sets or whose starting value is not NULL; the rest default."""
    given = set().union(*rows)
    return tuple(
        column.name
        for column in table.columns
        if column.name in given or blank.get(column.name) is not None
    )


def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(
        column.name
        for column in table.columns
        if isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON)
    )


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    blank: Mapping[str, Any],
) -> None:
    """Insert ``rows`` (missing columns take ``blank``'s values) in one set-based operation.

    Raises SQLAlchemy's ``IntegrityError`` on a constraint violation, like ``execute`` does.
    """
    if not rows:
        return
    if not connection.in_transaction():
        # COPY goes to the driver directly; SQLAlchemy must know the transaction is open, or a
        # later commit() would not reach the driver.
        connection.begin()
    if connection.dialect.name == "sqlite":
        names = _columns(table, rows, blank)
        sql, converters = _sqlite_plan(table, names)
        plan = list(zip(names, converters, strict=True))
        values = []
        for row in rows:
            merged = {**blank, **row} if blank else row
            values.append(
                tuple(
                    [
                        merged.get(name) if convert is None else convert(merged.get(name))
                        for name, convert in plan
                    ]
                )
            )
        db = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            db.executemany(sql, values)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(sql, None, exc) from exc
        finally:
            db.close()
        return
    _copy_postgresql(connection, table, rows, blank)


def _copy_postgresql(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    blank: Mapping[str, Any],
) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    names = _columns(table, rows, blank)
    json_columns = _json_columns(table)
    driver = connection.connection.driver_connection
    quoted = ", ".join(f'"{name}"' for name in names)
    statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                record = []
                for name in names:
                    value = row[name] if name in row else blank.get(name)
                    if name in json_columns and value is not None:
                        value = Jsonb(value)
                    record.append(value)
                copy.write_row(record)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return None if value is None else Jsonb(value)


def update_rows(
    connection: Connection,
    table: Table,
    set_columns: Sequence[str],
    where_columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> int:
    """``UPDATE table SET set_columns WHERE where_columns`` (each ``= ?``) for every row of
    values (``set_columns``' values, then ``where_columns``'), in one ``executemany``; returns
    the number of rows changed. Values are converted as in ``insert_rows``."""
    if not rows:
        return 0
    names = (*set_columns, *where_columns)
    assigned = ", ".join(f'"{name}" = ?' for name in set_columns)
    matched = " AND ".join(f'"{name}" = ?' for name in where_columns)
    # Table and column names come from tables.py, never from input.
    sql = f'UPDATE "{table.name}" SET {assigned} WHERE {matched}'  # noqa: S608
    if connection.dialect.name == "sqlite":
        converters = _sqlite_plan(table, names)[1]
    else:
        json_columns = _json_columns(table)
        converters = tuple(_jsonb if name in json_columns else None for name in names)
    plan = list(zip(converters, range(len(names)), strict=True))
    values = [
        tuple([row[i] if convert is None else convert(row[i]) for convert, i in plan])
        for row in rows
    ]
    db = raw.cursor(connection)
    try:
        db.executemany(raw.placeholders(connection, sql), values)
        return int(db.rowcount)
    finally:
        db.close()
