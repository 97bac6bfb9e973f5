"""API keys: random 256-bit tokens, stored as SHA-256 digests.

A slow hash is for low-entropy secrets (passwords); a 256-bit random key cannot be guessed, so a
fast digest lets every request be checked with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import FieldError, NotFound, Unauthorized, ValidationFailed
from clientela.domain.ids import new_id
from clientela.storage.uow import UnitOfWork

__all__ = [
    "ROLES",
    "SCOPES",
    "CreatedKey",
    "authenticate",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
]

KEY_PREFIX = "clk_"
ROLES = ("admin", "dpo", "analyst", "marketer", "support", "viewer", "integration")
SCOPES = ("read", "write", "ingest", "privacy", "admin")
_ROLE_SCOPES = {
    "admin": ("read", "write", "ingest", "privacy", "admin"),
    "integration": ("read", "write", "ingest"),
    "dpo": ("read", "write", "privacy"),
    "support": ("read", "write"),
    "analyst": ("read",),
    "marketer": ("read",),
    "viewer": ("read",),
}


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: str
    name: str
    role: str
    token: str  # shown once; only its digest is stored


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_key(
    uow: UnitOfWork,
    *,
    name: str,
    role: str,
    actor: Actor,
    scopes: tuple[str, ...] | None = None,
    expires_at: datetime | None = None,
) -> CreatedKey:
    errors: list[FieldError] = []
    if not name.strip() or len(name) > 100:
        errors.append(FieldError("name", "must be 1 to 100 characters"))
    if role not in ROLES:
        errors.append(FieldError("role", f"must be one of {', '.join(ROLES)}", "invalid_choice"))
    chosen = scopes if scopes is not None else _ROLE_SCOPES.get(role, ())
    if any(scope not in SCOPES for scope in chosen):
        errors.append(
            FieldError("scopes", f"each scope is one of {', '.join(SCOPES)}", "invalid_choice")
        )
    if errors:
        raise ValidationFailed("The API key request is invalid.", errors=errors)
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    identifier = new_id()
    uow.api_keys.add(
        {
            "id": identifier,
            "name": name.strip(),
            "prefix": token[:12],
            "key_hash": digest(token),
            "role": role,
            "scopes": list(chosen),
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
    )
    audit.record(uow, actor, "apikey.create", [None], [identifier])
    return CreatedKey(identifier, name.strip(), role, token)


def authenticate(
    uow: UnitOfWork,
    token: str,
    *,
    touch_interval: timedelta,
    request_id: str | None = None,
    ip: str | None = None,
) -> Actor:
    """The actor behind a key; ``Unauthorized`` for unknown, revoked or expired keys."""
    row = uow.api_keys.get_by_hash(digest(token)) if token.startswith(KEY_PREFIX) else None
    now = utcnow()
    if row is None:
        raise Unauthorized("The API key is not valid.")
    if row["revoked_at"] is not None:
        raise Unauthorized("The API key was revoked.")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise Unauthorized("The API key has expired.")
    last = row["last_used_at"]
    if last is None or now - last >= touch_interval:
        uow.api_keys.touch(row["id"], now)
    return Actor(
        kind="api_key",
        id=row["id"],
        role=row["role"],
        scopes=frozenset(row["scopes"]),
        request_id=request_id,
        ip=ip,
    )


def list_api_keys(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every key with its metadata; never the key itself (only its digest is stored)."""
    return [{k: v for k, v in row.items() if k != "key_hash"} for row in uow.api_keys.list()]


def revoke_api_key(uow: UnitOfWork, key_id: str, *, actor: Actor) -> None:
    if not uow.api_keys.revoke(key_id, utcnow()):
        raise NotFound("No active API key has this id.")
    audit.record(uow, actor, "apikey.revoke", [None], [key_id])
