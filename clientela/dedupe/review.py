"""The review queue: pairs the model is unsure about, decided by a person.

Accepting merges the two profiles (or what they have since been merged into); rejecting is
remembered, so the pair is never proposed again and splits clusters that would chain through it.
"""

from __future__ import annotations

from typing import Any

from clientela.audit.service import record as audit
from clientela.customers.service import survivor_of
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import Conflict, NotFound
from clientela.identity.merging import merge_profiles
from clientela.quality.service import refresh_quality
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = ["decide", "list_candidates", "queue_counts"]

STATUSES = ("pending", "rejected", "merged")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "left_id": row["left_id"],
        "right_id": row["right_id"],
        "probability": row["probability"],
        "match_weight": row["match_weight"],
        "explanation": row["explanation"],
        "status": row["status"],
        "model_version": row["model_version"],
        "merge_id": row["merge_id"],
        "created_at": row["created_at"],
        "decided_at": row["decided_at"],
        "decided_by": row["decided_by"],
    }


def list_candidates(
    uow: UnitOfWork, *, status: str | None = "pending", limit: int = 50, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of candidate pairs (ids and explanations only: no personal values)."""
    rows = uow.matches.page(status=status, limit=limit + 1, after=cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return [_public(r) for r in rows], (rows[-1]["id"] if more and rows else None)


def queue_counts(uow: UnitOfWork) -> dict[str, int]:
    counts = uow.matches.counts()
    return {status: counts.get(status, 0) for status in STATUSES}


def decide(
    uow: UnitOfWork, candidate_id: str, *, accept: bool, actor: Actor, settings: Settings
) -> dict[str, Any]:
    """Accept (merge) or reject a pending pair."""
    row = uow.matches.get(candidate_id)
    if row is None:
        raise NotFound("No such candidate pair.")
    if row["status"] != "pending":
        raise Conflict(
            f"This pair was already decided ({row['status']}).",
            extra={"status": row["status"]},
        )
    now = utcnow()
    if not accept:
        uow.matches.decide(candidate_id, status="rejected", actor=actor.label, at=now)
        audit(uow, actor, "dedupe.reject", [row["left_id"], row["right_id"]])
        refresh_quality(uow, [row["left_id"], row["right_id"]], settings=settings, now=now)
    else:
        ids = []
        for customer_id in (row["left_id"], row["right_id"]):
            current = uow.customers.get(customer_id)
            if current is None or current["status"] == "erased":
                raise Conflict("A profile of this pair no longer exists.")
            ids.append(survivor_of(uow, current))
        survivor, merged = sorted(ids)  # ids are time-ordered: the older profile survives
        merge_id = None
        if survivor != merged:
            merge_id = merge_profiles(
                uow,
                survivor,
                merged,
                reason="manual",
                actor=actor,
                score=round(row["match_weight"]),
                rules=settings.survivorship,
                settings=settings,
            )
        uow.matches.decide(
            candidate_id, status="merged", actor=actor.label, at=now, merge_id=merge_id
        )
    found = uow.matches.get(candidate_id)
    assert found is not None
    return _public(found)
