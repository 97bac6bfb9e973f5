"""Legal holds: a legal duty or a dispute keeps a person's data from retention and erasure."""

from __future__ import annotations

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import FieldError, NotFound, ValidationFailed
from clientela.domain.ids import new_id
from clientela.storage.uow import UnitOfWork

__all__ = ["add_hold", "release_hold"]


def add_hold(uow: UnitOfWork, customer_id: str, *, reason: str, actor: Actor) -> str:
    from clientela.customers.service import load_active

    customer = load_active(uow, customer_id)
    if not reason.strip():
        raise ValidationFailed(
            "A legal hold needs its reason.", errors=[FieldError("reason", "is required")]
        )
    hold_id = new_id()
    uow.legal_holds.add(
        {
            "id": hold_id,
            "customer_id": customer["id"],
            "reason": reason.strip(),
            "created_by": actor.label,
            "created_at": utcnow(),
            "released_at": None,
        }
    )
    audit.record(uow, actor, "privacy.hold", [str(customer["id"])], [])
    return hold_id


def release_hold(uow: UnitOfWork, hold_id: str, *, actor: Actor) -> None:
    if not uow.legal_holds.release(hold_id, utcnow()):
        raise NotFound("No active legal hold with this id.")
    audit.record(uow, actor, "privacy.hold_release", [None], [hold_id])
