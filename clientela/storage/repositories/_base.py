from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Connection, RowMapping, func
from sqlalchemy.exc import IntegrityError

from clientela.domain.errors import StoreNotReady
from clientela.storage.errors import DuplicateKey

if TYPE_CHECKING:
    from clientela.storage.sealing import Sealer


class Repository:
    def __init__(self, connection: Connection, sealer: Sealer | None = None) -> None:
        self.connection = connection
        self._sealer = sealer

    @property
    def sealer(self) -> Sealer:
        """Seals and opens personal fields (repositories of tables that hold them)."""
        if self._sealer is None:
            raise StoreNotReady("This store was opened without a master key.")
        return self._sealer

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name


def epoch_day(dialect: str, moment: Any) -> Any:
    """The UTC day number (days since 1970-01-01) of a timestamp expression, computed by the
    database so that no timestamps are built in Python for large aggregates."""
    if dialect == "sqlite":
        seconds: Any = func.cast(func.strftime("%s", moment), BigInteger)
    else:
        seconds = func.cast(func.extract("epoch", moment), BigInteger)
    return func.cast(func.floor(seconds / 86400), BigInteger)


def as_dict(row: RowMapping | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


@contextmanager
def translate_integrity_errors() -> Iterator[None]:
    """Turn a unique-constraint violation into ``DuplicateKey`` naming the constraint."""
    try:
        yield
    except IntegrityError as exc:
        message = str(exc.orig)
        constraint = None
        for name in (
            "uq_identities_kind_value",
            "uq_events_source_message",
            "uq_transactions_source_order",
            "uq_sources_name",
            "uq_users_email",
            "uq_segments_key",
            "uq_destinations_key",
            "attribute_definitions",
        ):
            if name in message:
                constraint = name
        if "identities.kind, identities.value" in message:
            constraint = "uq_identities_kind_value"
        if "UNIQUE" not in message.upper() and "duplicate key" not in message:
            raise
        raise DuplicateKey(constraint) from exc
