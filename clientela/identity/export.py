"""Exporting the identities of one kind: which customer holds which value.

Merges move identities to the survivor, so a merged-away record's ids answer under the profile
that now holds them.
"""

from __future__ import annotations

from collections.abc import Iterator

from clientela.audit.service import record as audit
from clientela.domain.actor import Actor
from clientela.domain.errors import BadRequest, FieldError
from clientela.domain.identity import IDENTITY_KINDS
from clientela.storage.uow import UnitOfWork

__all__ = ["export_identities"]


def export_identities(uow: UnitOfWork, kind: str, *, actor: Actor) -> Iterator[tuple[str, str]]:
    """(customer_id, value) of every identity of ``kind``, by customer."""
    if kind not in IDENTITY_KINDS and not kind.startswith("external:"):
        raise BadRequest(
            "Unknown identity kind.",
            errors=[FieldError("kind", f"use one of {', '.join(IDENTITY_KINDS)} or external:NAME")],
        )
    audit(uow, actor, "identity.export", [None], [kind])
    return uow.identities.of_kind(kind)
