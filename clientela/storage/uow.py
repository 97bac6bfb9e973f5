"""The unit of work: one transaction, owned by the caller, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import Connection, Engine

from clientela.domain.errors import StoreNotReady
from clientela.security.keyring import Keyring
from clientela.storage.group_commit import GroupCommitWriter, Operation
from clientela.storage.repositories.access import (
    ApiKeyRepository,
    AuditRepository,
    KeyCache,
    UserRepository,
)
from clientela.storage.repositories.activity import (
    EventRepository,
    ProvenanceRepository,
    TimelineRepository,
    TransactionRepository,
)
from clientela.storage.repositories.analytics import AnalyticsRepository
from clientela.storage.repositories.catalogue import (
    AttributeRepository,
    DestinationRepository,
    SourceRepository,
)
from clientela.storage.repositories.customers import CustomerRepository
from clientela.storage.repositories.dedupe import (
    DedupeModelRepository,
    DedupeRunRepository,
    MatchCandidateRepository,
)
from clientela.storage.repositories.erasure import ErasureRepository
from clientela.storage.repositories.identities import IdentityRepository
from clientela.storage.repositories.imports import ImportRepository
from clientela.storage.repositories.merges import MergeRepository
from clientela.storage.repositories.privacy import (
    BreachReportRepository,
    ConsentRepository,
    DestructionRepository,
    LegalHoldRepository,
    OutboxRepository,
    PrivacyRequestRepository,
    PurposeRepository,
    RestrictionRepository,
    RetentionRepository,
    StoreMetaRepository,
    SuppressionRepository,
)
from clientela.storage.sealing import DEFAULT_BLIND_INDEX_BYTES, Sealer
from clientela.storage.segments import SegmentRepository

__all__ = ["UnitOfWork"]

R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, built when first used and kept until the unit is
    entered again (a request uses two or three of thirty)."""

    def __init__(self, build: Callable[[UnitOfWork, Connection], R]) -> None:
        self._build = build

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...

    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: UnitOfWork | None, owner: type) -> Any:
        if uow is None:
            return self
        repository = self._build(uow, uow._open)
        uow.__dict__[self._name] = repository  # later reads skip this descriptor
        return repository


class UnitOfWork:
    """``with UnitOfWork(engine) as uow: ...; uow.commit()``.

    Services receive a unit of work and never commit it themselves: the interface that started
    the use case decides. ``write=False`` opens a plain read transaction (SQLite: no write lock).
    """

    sealer: Sealer | None

    def __init__(
        self,
        engine: Engine,
        *,
        write: bool = True,
        writer: GroupCommitWriter | None = None,
        key_cache: KeyCache | None = None,
        keyring: Keyring | Callable[[], Keyring] | None = None,
        blind_index_bytes: int = DEFAULT_BLIND_INDEX_BYTES,
    ) -> None:
        self._engine = engine
        self._blind_index_bytes = blind_index_bytes
        self._keyring = keyring
        self._key_cache = key_cache
        self._write = write
        self._writer = writer or GroupCommitWriter(engine)
        self._connection: Connection | None = None
        self._deferred: list[Operation] = []

    @property
    def keyring(self) -> Keyring:
        """The store's master key (hashes of the suppression list, later field keys)."""
        if self._keyring is None:
            raise StoreNotReady("This store was opened without a master key.")
        if callable(self._keyring):
            self._keyring = self._keyring()
        return self._keyring

    @property
    def is_read_only(self) -> bool:
        return not self._write

    def defer(self, operation: Operation) -> None:
        """Run a small write with this unit of work's commit (read-only units: group commit)."""
        if self._write:
            assert self._connection is not None
            operation(self._connection)
        else:
            self._deferred.append(operation)

    def write_now(self, operation: Operation) -> None:
        """Run a small write at once and durably, even from a read-only unit of work."""
        if self._write:
            assert self._connection is not None
            operation(self._connection)
        else:
            self._writer.run([operation])

    @property
    def _open(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        for name in _REPOSITORIES:  # built on the previous entry's connection
            self.__dict__.pop(name, None)
        connection = self._engine.connect()
        # The transaction begins with the first statement (SQLAlchemy's autobegin), so a unit of
        # work that ends up doing nothing never takes SQLite's write lock.
        connection.execution_options(clientela_write=self._write)
        self._connection = connection
        self.sealer = (
            None
            if self._keyring is None
            else Sealer(connection, lambda: self.keyring, blind_index_bytes=self._blind_index_bytes)
        )
        return self

    # Repositories, built on first use on this entry's connection.
    customers = _Repository(lambda u, c: CustomerRepository(c, u.sealer))
    identities = _Repository(lambda u, c: IdentityRepository(c, u.sealer))
    attributes = _Repository(lambda u, c: AttributeRepository(c))
    sources = _Repository(lambda u, c: SourceRepository(c))
    provenance = _Repository(lambda u, c: ProvenanceRepository(c, u.sealer))
    events = _Repository(lambda u, c: EventRepository(c))
    transactions = _Repository(lambda u, c: TransactionRepository(c))
    timeline = _Repository(lambda u, c: TimelineRepository(c))
    users = _Repository(lambda u, c: UserRepository(c, write_now=u.write_now))
    api_keys = _Repository(
        lambda u, c: ApiKeyRepository(c, write_now=u.write_now, cache=u._key_cache)
    )
    audit = _Repository(
        lambda u, c: AuditRepository(c, defer=u.defer, chain_key=lambda: u.keyring.derive("audit"))
    )
    purposes = _Repository(lambda u, c: PurposeRepository(c))
    merges = _Repository(lambda u, c: MergeRepository(c, u.sealer))
    imports = _Repository(lambda u, c: ImportRepository(c))
    consents = _Repository(lambda u, c: ConsentRepository(c))
    matches = _Repository(lambda u, c: MatchCandidateRepository(c, u.sealer))
    dedupe_models = _Repository(lambda u, c: DedupeModelRepository(c))
    dedupe_runs = _Repository(lambda u, c: DedupeRunRepository(c))
    privacy_requests = _Repository(lambda u, c: PrivacyRequestRepository(c))
    suppressions = _Repository(lambda u, c: SuppressionRepository(c))
    destructions = _Repository(lambda u, c: DestructionRepository(c))
    restrictions = _Repository(lambda u, c: RestrictionRepository(c))
    legal_holds = _Repository(lambda u, c: LegalHoldRepository(c))
    retention = _Repository(lambda u, c: RetentionRepository(c))
    breaches = _Repository(lambda u, c: BreachReportRepository(c))
    outbox = _Repository(lambda u, c: OutboxRepository(c))
    store_meta = _Repository(lambda u, c: StoreMetaRepository(c))
    erasure = _Repository(lambda u, c: ErasureRepository(c, u.sealer))
    analytics = _Repository(lambda u, c: AnalyticsRepository(c))
    segments = _Repository(lambda u, c: SegmentRepository(c))
    destinations = _Repository(lambda u, c: DestinationRepository(c))

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
        """Commit; a read-only unit ends its snapshot and group-commits its deferred writes."""
        if self._connection is None:
            raise RuntimeError("commit outside the unit of work")
        if self._write:
            self._connection.commit()
            return
        self._connection.rollback()
        deferred, self._deferred = self._deferred, []
        self._writer.run(deferred)

    def end_read(self) -> list[Operation]:
        """End a read-only unit's snapshot and hand its deferred writes to the caller, who must
        get them applied (``Store.flush_async``) before answering."""
        if self._write:
            raise RuntimeError("end_read is for read-only units of work")
        if self._connection is not None:
            self._connection.rollback()
        deferred, self._deferred = self._deferred, []
        return deferred

    def rollback(self) -> None:
        if self._connection is not None:
            self._connection.rollback()
        self._deferred.clear()


_REPOSITORIES = frozenset(
    name for name, value in vars(UnitOfWork).items() if isinstance(value, _Repository)
)
