"""The store: one database, its engine and its units of work; all the rest of Clientela sees."""

from __future__ import annotations

from clientela.storage.engine import make_engine
from clientela.storage.migrate import current_revision, head_revision, upgrade
from clientela.storage.uow import UnitOfWork

__all__ = ["Store"]


class Store:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write)

    def upgrade(self) -> None:
        upgrade(self.engine)

    def is_current(self) -> bool:
        return current_revision(self.engine) == head_revision()

    def revision(self) -> str | None:
        return current_revision(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
