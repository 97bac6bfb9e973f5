"""Write keys of tracking sources: random tokens, stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import Conflict, FieldError, NotFound, Unauthorized, ValidationFailed
from clientela.domain.ids import new_id
from clientela.storage.errors import DuplicateKey
from clientela.storage.uow import UnitOfWork

__all__ = ["CreatedSource", "authenticate_write_key", "create_tracking_source", "revoke_source"]

WRITE_KEY_PREFIX = "wk_"


@dataclass(frozen=True, slots=True)
class CreatedSource:
    id: str
    name: str
    write_key: str  # shown once


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_tracking_source(
    uow: UnitOfWork, name: str, *, actor: Actor, trust_rank: int = 50, description: str = ""
) -> CreatedSource:
    name = name.strip()
    if not name or len(name) > 100 or ":" in name:
        raise ValidationFailed(
            "The source name is invalid.",
            errors=[FieldError("name", "must be 1 to 100 characters, without ':'")],
        )
    if not 0 <= trust_rank <= 100:
        raise ValidationFailed(
            "The trust rank is invalid.", errors=[FieldError("trust_rank", "must be 0 to 100")]
        )
    key = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
    identifier = new_id()
    try:
        uow.sources.add(
            {
                "id": identifier,
                "name": name,
                "kind": "tracking",
                "trust_rank": trust_rank,
                "description": description,
                "write_key_hash": _digest(key),
                "created_at": utcnow(),
            }
        )
    except DuplicateKey:
        raise Conflict(
            "A source with this name exists.", errors=[FieldError("name", "is taken", "duplicate")]
        ) from None
    audit.record(uow, actor, "source.create", [None], [identifier])
    return CreatedSource(identifier, name, key)


def authenticate_write_key(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """The source a write key belongs to; ``Unauthorized`` for unknown or revoked keys."""
    row = uow.sources.get_by_write_key_hash(_digest(key)) if key else None
    if row is None:
        raise Unauthorized("The write key is not valid.")
    if row["disabled_at"] is not None:
        raise Unauthorized("The write key's source was disabled.")
    return row


def revoke_source(uow: UnitOfWork, name: str, *, actor: Actor) -> None:
    row = uow.sources.get_by_name(name)
    if row is None or row["write_key_hash"] is None:
        raise NotFound("No tracking source has this name.")
    uow.sources.disable(row["id"], utcnow())
    audit.record(uow, actor, "source.disable", [None], [row["id"]])
