"""The store: one database, its engine and its units of work; all the rest of Clientela sees."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import inspect, select

from clientela.domain.actor import utcnow
from clientela.domain.errors import StoreNotReady
from clientela.security.keyring import Keyring
from clientela.storage.engine import make_engine, stop_checkpoints
from clientela.storage.errors import StoreBusy
from clientela.storage.group_commit import GroupCommitWriter, Operation
from clientela.storage.migrate import current_revision, head_revision, upgrade
from clientela.storage.repositories.access import KeyCache
from clientela.storage.sealing import DEFAULT_BLIND_INDEX_BYTES
from clientela.storage.tables import metadata, store_meta
from clientela.storage.uow import UnitOfWork

__all__ = ["BLIND_INDEX_META", "MASTER_CHECK_META", "ROOT_KEY_META", "SEALED_META", "Store"]

#: ``store_meta`` keys: the root key wrapped by the master (after a rotation) and the
#: master's check value (a wrong key fails at start-up).
ROOT_KEY_META = "root_key"
MASTER_CHECK_META = "master_check"
BLIND_INDEX_META = "blind_index_bytes"
SEALED_META = "fields_sealed"


class Store:
    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        key_cache_seconds: float = 0,
        keyring: Keyring | None = None,
        blind_index_bytes: int = DEFAULT_BLIND_INDEX_BYTES,
    ) -> None:
        self.url = url
        self._blind_index_bytes = blind_index_bytes
        self._keyring = keyring
        self._key_cache = KeyCache(key_cache_seconds)
        self.engine = make_engine(url, echo=echo)
        # The writer has its own connection: readers waiting on it hold theirs from the pool.
        self._writer_engine = make_engine(url, echo=echo)
        self._writer = GroupCommitWriter(self._writer_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(
            self.engine,
            write=write,
            writer=self._writer,
            key_cache=self._key_cache,
            keyring=self.keyring if self._keyring is not None else None,
            blind_index_bytes=self._blind_index_bytes,
        )

    async def flush_async(self, operations: Sequence[Operation]) -> None:
        """Durably apply the deferred writes of a read (batched with concurrent requests)."""
        await self._writer.run_async(operations)

    def upgrade(self) -> None:
        upgrade(self.engine)
        if self._keyring is not None:
            self._after_upgrade()

    def is_current(self) -> bool:
        return current_revision(self.engine) == head_revision()

    def revision(self) -> str | None:
        return current_revision(self.engine)

    def compact(self, tables: Sequence[str] = ()) -> None:
        """Reclaim the space of deleted rows so erased values leave the files, not only the
        tables: SQLite rewrites the database (VACUUM) and empties its write-ahead log;
        PostgreSQL vacuums the tables named."""
        if self.dialect == "sqlite":
            raw = self.engine.raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            try:
                driver.execute("VACUUM")
                # Short waits, many tries: a reader on an old snapshot finishes in milliseconds.
                driver.execute("PRAGMA busy_timeout=100")
                for _ in range(150):
                    busy = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if busy is None or not busy[0]:
                        break
                    time.sleep(0.1)
                else:
                    raise StoreBusy(
                        "The write-ahead log could not be emptied: a reader holds it. The "
                        "erasure is committed; run `clientela db compact` when the store is idle."
                    )
            finally:
                driver.execute("PRAGMA busy_timeout=30000")
                raw.close()
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.exec_driver_sql(f'VACUUM "{metadata.tables[table].name}"')

    def keyring(self) -> Keyring:
        """The master key with the store's root key (read once; a wrong master key fails)."""
        if self._keyring is None:
            raise StoreNotReady("This store was opened without a master key.")
        if not self._keyring.resolved:
            # A reader's connection: this may run while a unit of work holds the write lock.
            with self.engine.connect().execution_options(clientela_write=False) as connection:
                if not inspect(connection).has_table(store_meta.name):
                    return self._keyring  # not created yet: the master is the root
                facts = dict(
                    connection.execute(
                        select(store_meta.c.key, store_meta.c.value).where(
                            store_meta.c.key.in_(
                                [ROOT_KEY_META, MASTER_CHECK_META, BLIND_INDEX_META]
                            )
                        )
                    ).all()
                )
            self._keyring = self._keyring.with_store(
                facts.get(ROOT_KEY_META), facts.get(MASTER_CHECK_META)
            )
            if BLIND_INDEX_META in facts:  # fixed when the store was made: look-ups depend on it
                self._blind_index_bytes = int(facts[BLIND_INDEX_META])
        return self._keyring

    def _after_upgrade(self) -> None:
        """Record the key facts a new store lacks, and seal once what a store from before
        field encryption kept plain (the migration cannot: it has no key)."""
        keyring = self.keyring()
        with self.unit_of_work() as uow:
            facts = {
                MASTER_CHECK_META: keyring.master_check,
                BLIND_INDEX_META: str(self._blind_index_bytes),
            }
            for key, value in facts.items():
                if uow.store_meta.get(key) is None:
                    uow.store_meta.set(key, value, utcnow())
            if uow.store_meta.get(SEALED_META) is None:
                uow.customers.seal_stored()
                uow.identities.seal_stored()
                uow.store_meta.set(SEALED_META, "1", utcnow())
            uow.commit()

    def dispose(self) -> None:
        self._writer.close()
        stop_checkpoints(self.url)  # first: the last connection to close removes the WAL
        self._writer_engine.dispose()
        self.engine.dispose()
