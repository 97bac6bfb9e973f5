"""The store: one database, its engine and its units of work; all the rest of Clientela sees."""

from __future__ import annotations

from collections.abc import Sequence

from clientela.storage.engine import make_engine
from clientela.storage.group_commit import GroupCommitWriter, Operation
from clientela.storage.migrate import current_revision, head_revision, upgrade
from clientela.storage.repositories.access import KeyCache
from clientela.storage.uow import UnitOfWork

__all__ = ["Store"]


class Store:
    def __init__(self, url: str, *, echo: bool = False, key_cache_seconds: float = 0) -> None:
        self.url = url
        self._key_cache = KeyCache(key_cache_seconds)
        self.engine = make_engine(url, echo=echo)
        # The writer has its own connection: readers waiting on it hold theirs from the pool.
        self._writer_engine = make_engine(url, echo=echo)
        self._writer = GroupCommitWriter(self._writer_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write, writer=self._writer, key_cache=self._key_cache)

    async def flush_async(self, operations: Sequence[Operation]) -> None:
        """Durably apply the deferred writes of a read (batched with concurrent requests)."""
        await self._writer.run_async(operations)

    def upgrade(self) -> None:
        upgrade(self.engine)

    def is_current(self) -> bool:
        return current_revision(self.engine) == head_revision()

    def revision(self) -> str | None:
        return current_revision(self.engine)

    def dispose(self) -> None:
        self._writer.close()
        self._writer_engine.dispose()
        self.engine.dispose()
