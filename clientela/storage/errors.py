"""Storage-level failures, raised instead of driver exceptions so services stay SQL-free."""

from __future__ import annotations

from clientela.domain.errors import StoreNotReady

__all__ = ["DuplicateKey", "StaleWrite", "StoreBusy"]


class DuplicateKey(Exception):
    """A unique constraint refused a row; ``constraint`` names it when the driver says."""

    def __init__(self, constraint: str | None = None) -> None:
        super().__init__(constraint or "duplicate key")
        self.constraint = constraint


class StaleWrite(Exception):
    """An update expected a version of a row that is no longer current."""


class StoreBusy(StoreNotReady):
    """A maintenance step could not get the store to itself (e.g. readers hold the WAL)."""
