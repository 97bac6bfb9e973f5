"""The unit of work: one transaction, owned by the caller, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
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
    merges: MergeRepository
    imports: ImportRepository
    consents: ConsentRepository
    matches: MatchCandidateRepository
    dedupe_models: DedupeModelRepository
    dedupe_runs: DedupeRunRepository
    privacy_requests: PrivacyRequestRepository
    suppressions: SuppressionRepository
    destructions: DestructionRepository
    restrictions: RestrictionRepository
    legal_holds: LegalHoldRepository
    retention: RetentionRepository
    breaches: BreachReportRepository
    outbox: OutboxRepository
    store_meta: StoreMetaRepository
    erasure: ErasureRepository
    analytics: AnalyticsRepository
    segments: SegmentRepository
    destinations: DestinationRepository
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

    def __enter__(self) -> UnitOfWork:
        connection = self._engine.connect()
        # The transaction begins with the first statement (SQLAlchemy's autobegin), so a unit of
        # work that ends up doing nothing never takes SQLite's write lock.
        connection.execution_options(clientela_write=self._write)
        self._connection = connection
        sealer = (
            None
            if self._keyring is None
            else Sealer(connection, lambda: self.keyring, blind_index_bytes=self._blind_index_bytes)
        )
        self.sealer = sealer
        self.customers = CustomerRepository(connection, sealer)
        self.identities = IdentityRepository(connection, sealer)
        self.attributes = AttributeRepository(connection)
        self.sources = SourceRepository(connection)
        self.provenance = ProvenanceRepository(connection, sealer)
        self.events = EventRepository(connection)
        self.transactions = TransactionRepository(connection)
        self.timeline = TimelineRepository(connection)
        self.users = UserRepository(connection, write_now=self.write_now)
        self.api_keys = ApiKeyRepository(
            connection, write_now=self.write_now, cache=self._key_cache
        )
        self.audit = AuditRepository(
            connection, defer=self.defer, chain_key=lambda: self.keyring.derive("audit")
        )
        self.purposes = PurposeRepository(connection)
        self.merges = MergeRepository(connection, sealer)
        self.imports = ImportRepository(connection)
        self.consents = ConsentRepository(connection)
        self.matches = MatchCandidateRepository(connection, sealer)
        self.dedupe_models = DedupeModelRepository(connection)
        self.dedupe_runs = DedupeRunRepository(connection)
        self.privacy_requests = PrivacyRequestRepository(connection)
        self.suppressions = SuppressionRepository(connection)
        self.destructions = DestructionRepository(connection)
        self.restrictions = RestrictionRepository(connection)
        self.legal_holds = LegalHoldRepository(connection)
        self.retention = RetentionRepository(connection)
        self.breaches = BreachReportRepository(connection)
        self.outbox = OutboxRepository(connection)
        self.store_meta = StoreMetaRepository(connection)
        self.erasure = ErasureRepository(connection, sealer)
        self.analytics = AnalyticsRepository(connection)
        self.segments = SegmentRepository(connection)
        self.destinations = DestinationRepository(connection)
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
