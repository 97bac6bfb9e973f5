"""Built-in and declared sources."""

from __future__ import annotations

from typing import Any

from clientela.domain.actor import utcnow
from clientela.domain.errors import NotFound
from clientela.domain.ids import new_id
from clientela.storage.uow import UnitOfWork

__all__ = [
    "BUILT_IN_SOURCES",
    "ensure_built_in_sources",
    "ensure_source",
    "list_sources",
    "source_id",
]

#: name -> (kind, trust rank). Manual corrections by people outrank automated feeds.
BUILT_IN_SOURCES: dict[str, tuple[str, int]] = {
    "api": ("api", 60),
    "cli": ("manual", 70),
    "web": ("manual", 80),
    "import": ("import", 40),
    "demo": ("demo", 10),
}


def source_id(uow: UnitOfWork, name: str) -> str:
    row = uow.sources.get_by_name(name)
    if row is None:
        if name in BUILT_IN_SOURCES:
            return create_source(uow, name, *BUILT_IN_SOURCES[name])
        raise NotFound(f"No source is named {name!r}.")
    return str(row["id"])


def create_source(uow: UnitOfWork, name: str, kind: str, trust_rank: int) -> str:
    identifier = new_id()
    uow.sources.add(
        {
            "id": identifier,
            "name": name,
            "kind": kind,
            "trust_rank": trust_rank,
            "description": "",
            "created_at": utcnow(),
        }
    )
    return identifier


def list_sources(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every source, with whether it has a write key (never the key's digest)."""
    return [
        {
            **{k: v for k, v in row.items() if k != "write_key_hash"},
            "has_write_key": row["write_key_hash"] is not None,
        }
        for row in uow.sources.list()
    ]


def ensure_source(uow: UnitOfWork, name: str, *, kind: str, trust_rank: int = 40) -> str:
    """The id of the source called ``name``, created on first use (imports name their source)."""
    row = uow.sources.get_by_name(name)
    if row is not None:
        return str(row["id"])
    return create_source(uow, name, kind, trust_rank)


def ensure_built_in_sources(uow: UnitOfWork) -> None:
    for name in BUILT_IN_SOURCES:
        source_id(uow, name)
