"""The suppression list: keyed hashes of an erased person's identifiers.

A hash, not the value: the list must outlive the person without being their data. HMAC with a
key derived from the master key (``security/keyring.py``), so a stolen database cannot be
checked against a list of e-mail addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clientela.domain.actor import utcnow
from clientela.domain.identity import IdentityKey
from clientela.storage.uow import UnitOfWork

__all__ = ["identity_hash", "suppress", "suppressed_keys"]

_LABEL = "suppression"


def identity_hash(uow: UnitOfWork, kind: str, value: str) -> str:
    return uow.keyring.keyed_hash(_LABEL, f"{kind}:{value}")


def suppress(
    uow: UnitOfWork, keys: Iterable[tuple[str, str]], *, reason: str, request_id: str | None
) -> list[dict[str, Any]]:
    """Put identifiers on the list; returns the rows (hash and kind, never the value)."""
    now = utcnow()
    rows = [
        {
            "hash": identity_hash(uow, kind, value),
            "kind": kind,
            "reason": reason,
            "request_id": request_id,
            "created_at": now,
        }
        for kind, value in dict.fromkeys(keys)
    ]
    uow.suppressions.add_many(rows)
    return rows


def suppressed_keys(
    uow: UnitOfWork, keys: Sequence[IdentityKey]
) -> dict[IdentityKey, Mapping[str, Any]]:
    """Which of ``keys`` are on the list (one query; none at all when the list is empty)."""
    if not keys or uow.suppressions.is_empty():
        return {}
    hashes = {key: identity_hash(uow, key.kind, key.value) for key in keys}
    found = uow.suppressions.present(list(hashes.values()))
    return {key: found[digest] for key, digest in hashes.items() if digest in found}


def suppressed_message(row: Mapping[str, Any]) -> str:
    when = row["created_at"].date().isoformat()
    return (
        f"belongs to a person erased on {when} at their request (suppression list); not recreated"
    )
