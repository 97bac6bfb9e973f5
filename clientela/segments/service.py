"""Count and preview segments from their definitions (saving and materialising come next)."""

from __future__ import annotations

from datetime import date
from typing import Any

from clientela.attributes.service import registry
from clientela.audit import service as audit
from clientela.customers.service import get_customer
from clientela.domain.actor import Actor, utcnow
from clientela.domain.segments import Node, parse_definition
from clientela.settings import Settings
from clientela.storage.segments import compile_segment
from clientela.storage.uow import UnitOfWork

__all__ = ["check_definition", "count_segment", "preview_segment"]


def check_definition(uow: UnitOfWork, definition: Any) -> Node:
    attributes = {key: str(d.type) for key, d in registry(uow).items()}
    purposes = frozenset(uow.purposes.ids_by_key())
    return parse_definition(definition, attributes=attributes, purposes=purposes)


def count_segment(
    uow: UnitOfWork, definition: Any, *, as_of: date | None = None, within: list[str] | None = None
) -> int:
    node = check_definition(uow, definition)
    return uow.segments.count(compile_segment(node, as_of=as_of or utcnow().date()), within=within)


def preview_segment(
    uow: UnitOfWork,
    definition: Any,
    *,
    actor: Actor,
    settings: Settings,
    sample: int = 10,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The count and a few members (as the actor's role may see them)."""
    node = check_definition(uow, definition)
    condition = compile_segment(node, as_of=as_of or utcnow().date())
    count = uow.segments.count(condition)
    ids = uow.segments.ids(condition, limit=sample)
    members = [get_customer(uow, i, actor=actor, settings=settings) for i in ids]
    audit.record(uow, actor, "segment.preview", [None], [], purpose=None)
    return {"count": count, "sample": members}
