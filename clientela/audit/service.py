"""The audit trail: recording entries (field names, never values), verifying the sealed
chain, signing checkpoints, and searching it for the DPO."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clientela.domain.actor import Actor, utcnow
from clientela.domain.audit_chain import CHAINED_FIELDS, checkpoint_signature, seal
from clientela.storage.uow import UnitOfWork

__all__ = ["Verification", "checkpoint", "record", "search", "verify_chain"]


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


# --- the chain ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int  # sealed entries checked
    unsealed: int  # entries written before the chain existed
    checkpoints: int
    first_bad: int | None  # sequence number of the first entry that fails
    problem: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "unsealed": self.unsealed,
            "checkpoints": self.checkpoints,
            "first_bad": self.first_bad,
            "problem": self.problem,
        }


def verify_chain(uow: UnitOfWork) -> Verification:
    """Walk the chain in order; the first entry missing, altered or out of place is named."""
    key = uow.keyring.derive("audit")
    checkpoints = uow.audit.checkpoints()
    entries = unsealed = 0
    prev_hash: str | None = None
    expected: int | None = None
    hashes_at: dict[int, str] = {}
    wanted = {int(c["seq"]) for c in checkpoints}

    def failed(seq: int, problem: str) -> Verification:
        return Verification(False, entries, unsealed, len(checkpoints), seq, problem)

    for batch in uow.audit.stream():
        for row in batch:
            seq = int(row["seq"])
            if row["hash"] is None:
                if expected is not None:
                    return failed(seq, f"entry {seq} lost its seal (edited)")
                unsealed += 1
                continue
            if expected is not None and seq != expected:
                return failed(expected, f"entry {expected} is missing (deleted)")
            if row["prev_hash"] != prev_hash:
                if expected is None:  # the first sealed entry follows nothing
                    return failed(seq, f"entries before {seq} are missing (deleted)")
                return failed(seq, f"entry {seq} does not follow entry {seq - 1} (moved)")
            if seal(key, row["prev_hash"], row) != row["hash"]:
                return failed(seq, f"entry {seq} was altered or moved")
            if seq in wanted:
                hashes_at[seq] = str(row["hash"])
            prev_hash, expected = str(row["hash"]), seq + 1
            entries += 1
    for checkpoint in checkpoints:
        seq = int(checkpoint["seq"])
        signed = checkpoint_signature(key, seq, checkpoint["hash"], checkpoint["created_at"])
        if not hmac.compare_digest(signed, checkpoint["signature"]):
            return failed(seq, f"the checkpoint at entry {seq} is forged")
        if seq not in hashes_at:
            return failed(seq, f"entry {seq}, sealed by a checkpoint, is missing (entries cut off)")
        if hashes_at[seq] != checkpoint["hash"]:
            return failed(seq, f"entry {seq} differs from its checkpoint")
    return Verification(True, entries, unsealed, len(checkpoints), None, None)


def checkpoint(uow: UnitOfWork) -> int | None:
    """Sign the current head of the chain; returns its sequence number (None: empty chain)."""
    seq, head_hash = uow.audit.head()
    if head_hash is None:
        return None
    now = utcnow()
    key = uow.keyring.derive("audit")
    uow.audit.add_checkpoint(
        {
            "seq": seq,
            "hash": head_hash,
            "signature": checkpoint_signature(key, seq, head_hash, now),
            "created_at": now,
        }
    )
    return seq


def search(
    uow: UnitOfWork,
    actor: Actor,
    *,
    customer_id: str | None = None,
    by: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    after: int | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Entries for the DPO, oldest first; the query itself is audited."""
    rows = uow.audit.search(
        customer_id=customer_id, actor=by, start=start, end=end, after=after, limit=limit
    )
    record(uow, actor, "audit.read", [customer_id], [], purpose="accountability")
    return [{key: row[key] for key in (*CHAINED_FIELDS, "hash")} for row in rows]
