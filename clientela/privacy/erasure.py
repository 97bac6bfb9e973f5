"""Erasure: every personal value of a person, in every table, then the files compacted.

Deletion (the default) leaves a tombstone row (id, status ``erased``) so the id answers
"erased" rather than "unknown"; orders are folded into anonymous daily sales totals when the
setting keeps them (LGPD Art. 16). Anonymisation keeps the profile's non-identifying summaries
(counts, totals, dates) and the orders, unlinked from anyone. Blocking keeps the values and
stops every processing (LGPD Art. 5 XIII).

The identifiers go to the suppression list as keyed hashes; a destruction record says what was
destroyed, when, by whom and on what basis — never the values. The caller commits, then calls
``Store.compact`` (SQLite: VACUUM and an emptied WAL) so the values leave the files too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clientela.audit import service as audit
from clientela.dedupe import snapshot
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import Conflict, NotFound
from clientela.domain.ids import new_id
from clientela.domain.privacy import ErasureMode
from clientela.privacy.consent import EVIDENCE_KEPT_AFTER_ERASURE
from clientela.privacy.suppression import suppress
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = ["COMPACTED_TABLES", "ErasureResult", "erase_person"]

#: the tables an erasure deletes from (PostgreSQL vacuums these afterwards)
COMPACTED_TABLES = (
    "customers",
    "customer_scores",
    "identities",
    "customer_name_tokens",
    "field_provenance",
    "events",
    "transactions",
    "consent_events",
    "merges",
    "match_candidates",
    "identity_flags",
    "outbox",
    "privacy_requests",
)


@dataclass(slots=True)
class ErasureResult:
    subject_id: str
    mode: ErasureMode
    profiles: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    suppressed: int = 0
    bundles: list[str] = field(default_factory=list)  # access bundles to delete from disk
    #: (hash, kind) of the identifiers put on the suppression list, for the erasure journal
    suppression: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "mode": str(self.mode),
            "profiles": len(self.profiles),
            "rows": self.rows,
            "fields": self.fields,
            "suppressed_identifiers": self.suppressed,
        }


def erase_person(
    uow: UnitOfWork,
    customer_id: str,
    *,
    actor: Actor,
    settings: Settings,
    mode: ErasureMode = ErasureMode.DELETION,
    legal_basis: str,
    request_id: str | None = None,
    suppress_identifiers: bool = True,
) -> ErasureResult:
    """Erase a person (and every profile merged into them) inside the caller's transaction."""
    row = uow.customers.get(customer_id)
    if row is None:
        raise NotFound("No customer with this id.")
    if row["status"] == "erased":
        raise Conflict("This person is already erased.")
    while row["status"] == "merged" and row["merged_into"]:
        root = uow.customers.get(str(row["merged_into"]))
        if root is None:
            break
        row = root
    subject_id = str(row["id"])
    ids = uow.erasure.person_ids(subject_id)
    holds = uow.legal_holds.active_for(ids)
    if holds:
        raise Conflict(
            "A legal hold keeps this person's data; release it first (or deny the request "
            "with the hold as the reason).",
            extra={"legal_holds": [str(hold["id"]) for hold in holds]},
        )
    now = utcnow()
    result = ErasureResult(subject_id, mode, ids)
    if mode is ErasureMode.BLOCKING:
        uow.restrictions.add(
            {
                "id": new_id(),
                "customer_id": subject_id,
                "kind": "blocking",
                "purposes": [],
                "fields": [],
                "request_id": request_id,
                "created_at": now,
                "lifted_at": None,
            }
        )
        result.rows = {"processing_restrictions": 1}
    else:
        keys = uow.erasure.identity_keys(ids)
        if suppress_identifiers:
            listed = suppress(uow, keys, reason="erasure", request_id=request_id)
            result.suppressed = len(listed)
            result.suppression = [(str(row["hash"]), str(row["kind"])) for row in listed]
        anonymous = [value for kind, value in keys if kind == "anonymous_id"]
        users = [value for kind, value in keys if kind == "user_id"]
        rows = {"events": uow.erasure.delete_events(ids, anonymous, users)}
        if mode is ErasureMode.DELETION:
            if settings.erasure_keeps_sales_aggregates:
                rows["transactions"] = uow.erasure.fold_transactions(ids)
            else:
                rows["transactions"] = uow.erasure.delete_transactions(ids)
        rows["consent_events"] = uow.consents.scrub(ids, EVIDENCE_KEPT_AFTER_ERASURE)
        rows.update(uow.erasure.delete_linked(ids))
        rows["identity_flags"] = uow.erasure.delete_flags(keys)
        uow.privacy_requests.scrub_details(ids)
        result.bundles = _bundles_of(uow, ids)
        result.fields = uow.erasure.blank_profiles(
            ids, keep_summaries=mode is ErasureMode.ANONYMISATION, when=now
        )
        rows["customers"] = len(ids)
        result.rows = {name: count for name, count in rows.items() if count}
        # The duplicate runs' kept table holds this person's folded data: it goes now (the
        # next run reads every profile again), whether or not this transaction commits.
        snapshot.discard(settings.data_dir)
    uow.destructions.add(
        {
            "id": new_id(),
            "subject_id": subject_id,
            "request_id": request_id,
            "mode": str(mode),
            "legal_basis": legal_basis,
            "actor": actor.label,
            "detail": {
                "profiles": len(ids),
                "rows": result.rows,
                "fields": result.fields,
                "suppressed_identifiers": result.suppressed,
            },
            "occurred_at": now,
        }
    )
    audit.record(uow, actor, f"privacy.{mode}", ids, result.fields or ["*"], purpose="dsr")
    return result


def _bundles_of(uow: UnitOfWork, ids: Sequence[str]) -> list[str]:
    found = []
    for request in uow.privacy_requests.of_subject(ids):
        path = (request.get("result") or {}).get("bundle")
        if path:
            found.append(str(path))
    return found
