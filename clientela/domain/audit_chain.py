"""The audit chain: each entry is sealed with an HMAC over its content and the previous seal.

Editing an entry changes its seal; deleting one leaves a gap in the sequence and a ``prev_hash``
that no longer matches; moving one puts a seal where another was expected. The seal is keyed
(a key derived from the master key), so whoever can write the database but does not hold the
key cannot recompute the chain after tampering. Checkpoints sign (sequence, seal) pairs, so
cutting entries off the end is noticed too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["CHAINED_FIELDS", "checkpoint_signature", "seal"]

#: what a seal covers, in this order
CHAINED_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "action",
    "customer_id",
    "fields",
    "purpose",
    "request_id",
    "ip",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def seal(key: bytes, prev_hash: str | None, entry: Mapping[str, Any]) -> str:
    body = [_plain(entry.get(name)) for name in CHAINED_FIELDS]
    message = json.dumps([prev_hash, *body], separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def checkpoint_signature(key: bytes, seq: int, entry_hash: str, created_at: datetime) -> str:
    message = f"{seq}:{entry_hash}:{_plain(created_at)}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
