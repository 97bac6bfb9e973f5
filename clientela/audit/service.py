"""Recording audit entries. Values are never recorded, only field names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from clientela.domain.actor import Actor, utcnow
from clientela.storage.uow import UnitOfWork

__all__ = ["record"]


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    customer_ids: Iterable[str | None],
    fields: Sequence[str] = (),
    *,
    purpose: str | None = None,
) -> None:
    """Append one entry per customer, inside the caller's unit of work (so it commits with it)."""
    now = utcnow()
    field_list = sorted(set(fields))
    rows = [
        {
            "occurred_at": now,
            "actor": actor.label,
            "action": action,
            "customer_id": customer_id,
            "fields": field_list,
            "purpose": purpose,
            "request_id": actor.request_id,
            "ip": actor.ip,
        }
        for customer_id in customer_ids
    ]
    uow.audit.append_many(rows)
