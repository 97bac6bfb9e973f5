"""The unit of work: one transaction, owned by the caller, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from clientela.storage.repositories.access import ApiKeyRepository, AuditRepository, UserRepository
from clientela.storage.repositories.activity import (
    EventRepository,
    ProvenanceRepository,
    TimelineRepository,
    TransactionRepository,
)
from clientela.storage.repositories.catalogue import AttributeRepository, SourceRepository
from clientela.storage.repositories.customers import CustomerRepository
from clientela.storage.repositories.identities import IdentityRepository
from clientela.storage.repositories.privacy import ConsentRepository, PurposeRepository

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """``with UnitOfWork(engine) as uow: ...; uow.commit()``.

    Services receive a unit of work and never commit it themselves: the interface that started
    the use case decides. ``write=False`` opens a plain read transaction (SQLite: no write lock).
    """

    customers: CustomerRepository
    identities: IdentityRepository
    attributes: AttributeRepository
    sources: SourceRepository
    provenance: ProvenanceRepository
    events: EventRepository
    transactions: TransactionRepository
    timeline: TimelineRepository
    users: UserRepository
    api_keys: ApiKeyRepository
    audit: AuditRepository
    purposes: PurposeRepository
    consents: ConsentRepository

    def __init__(self, engine: Engine, *, write: bool = True) -> None:
        self._engine = engine
        self._write = write
        self._connection: Connection | None = None

    def __enter__(self) -> UnitOfWork:
        connection = self._engine.connect()
        # The transaction begins with the first statement (SQLAlchemy's autobegin), so a unit of
        # work that ends up doing nothing never takes SQLite's write lock.
        connection.execution_options(clientela_write=self._write)
        self._connection = connection
        self.customers = CustomerRepository(connection)
        self.identities = IdentityRepository(connection)
        self.attributes = AttributeRepository(connection)
        self.sources = SourceRepository(connection)
        self.provenance = ProvenanceRepository(connection)
        self.events = EventRepository(connection)
        self.transactions = TransactionRepository(connection)
        self.timeline = TimelineRepository(connection)
        self.users = UserRepository(connection)
        self.api_keys = ApiKeyRepository(connection)
        self.audit = AuditRepository(connection)
        self.purposes = PurposeRepository(connection)
        self.consents = ConsentRepository(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection = self._connection
        self._connection = None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit outside the unit of work")
        self._connection.commit()

    def rollback(self) -> None:
        if self._connection is not None:
            self._connection.rollback()
