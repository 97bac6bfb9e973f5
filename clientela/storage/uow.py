"""The unit of work: one transaction, owned by the caller, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType

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
        # Repositories are built on first use (a request reads two or three of thirty), each
        # on this entry's connection.
        for name in _REPOSITORIES:
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

    @cached_property
    def customers(self) -> CustomerRepository:
        return CustomerRepository(self._open, self.sealer)

    @cached_property
    def identities(self) -> IdentityRepository:
        return IdentityRepository(self._open, self.sealer)

    @cached_property
    def attributes(self) -> AttributeRepository:
        return AttributeRepository(self._open)

    @cached_property
    def sources(self) -> SourceRepository:
        return SourceRepository(self._open)

    @cached_property
    def provenance(self) -> ProvenanceRepository:
        return ProvenanceRepository(self._open, self.sealer)

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self._open)

    @cached_property
    def transactions(self) -> TransactionRepository:
        return TransactionRepository(self._open)

    @cached_property
    def timeline(self) -> TimelineRepository:
        return TimelineRepository(self._open)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self._open, write_now=self.write_now)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self._open, write_now=self.write_now, cache=self._key_cache)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(
            self._open, defer=self.defer, chain_key=lambda: self.keyring.derive("audit")
        )

    @cached_property
    def purposes(self) -> PurposeRepository:
        return PurposeRepository(self._open)

    @cached_property
    def merges(self) -> MergeRepository:
        return MergeRepository(self._open, self.sealer)

    @cached_property
    def imports(self) -> ImportRepository:
        return ImportRepository(self._open)

    @cached_property
    def consents(self) -> ConsentRepository:
        return ConsentRepository(self._open)

    @cached_property
    def matches(self) -> MatchCandidateRepository:
        return MatchCandidateRepository(self._open, self.sealer)

    @cached_property
    def dedupe_models(self) -> DedupeModelRepository:
        return DedupeModelRepository(self._open)

    @cached_property
    def dedupe_runs(self) -> DedupeRunRepository:
        return DedupeRunRepository(self._open)

    @cached_property
    def privacy_requests(self) -> PrivacyRequestRepository:
        return PrivacyRequestRepository(self._open)

    @cached_property
    def suppressions(self) -> SuppressionRepository:
        return SuppressionRepository(self._open)

    @cached_property
    def destructions(self) -> DestructionRepository:
        return DestructionRepository(self._open)

    @cached_property
    def restrictions(self) -> RestrictionRepository:
        return RestrictionRepository(self._open)

    @cached_property
    def legal_holds(self) -> LegalHoldRepository:
        return LegalHoldRepository(self._open)

    @cached_property
    def retention(self) -> RetentionRepository:
        return RetentionRepository(self._open)

    @cached_property
    def breaches(self) -> BreachReportRepository:
        return BreachReportRepository(self._open)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self._open)

    @cached_property
    def store_meta(self) -> StoreMetaRepository:
        return StoreMetaRepository(self._open)

    @cached_property
    def erasure(self) -> ErasureRepository:
        return ErasureRepository(self._open, self.sealer)

    @cached_property
    def analytics(self) -> AnalyticsRepository:
        return AnalyticsRepository(self._open)

    @cached_property
    def segments(self) -> SegmentRepository:
        return SegmentRepository(self._open)

    @cached_property
    def destinations(self) -> DestinationRepository:
        return DestinationRepository(self._open)

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
    name for name, value in vars(UnitOfWork).items() if isinstance(value, cached_property)
)
