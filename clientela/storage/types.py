"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

__all__ = ["BigIntegerPK", "CollatedKey", "JSONType", "UTCDateTime"]

#: JSON documents; JSONB on PostgreSQL for indexing and containment queries.
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit integer primary key that is also SQLite's rowid (so it autoincrements there).
BigIntegerPK = BigInteger().with_variant(Integer(), "sqlite")


def CollatedKey(length: int) -> Any:  # noqa: N802 - reads as a type in table definitions
    """Search keys compared byte-wise, so ``key >= 'ab' AND key < 'ab\\uffff'`` is a prefix range
    on both engines (PostgreSQL's default collation does not order by code point)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned time-zone aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
