"""The erasure journal: a file beside the store recording each erasure (ids and identifier
hashes, never values), so that restoring an older backup erases those people again.

It lives outside the database on purpose: a backup restored over the store brings back the
old database, not the journal. Each line is sealed (HMAC, key derived from the master key), so
a line slipped into the file cannot make Clientela erase someone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from clientela.domain.errors import StoreNotReady
from clientela.security.keyring import Keyring

__all__ = ["JOURNAL_NAME", "ErasureTombstone", "append", "read"]

JOURNAL_NAME = "erasures.journal"


@dataclass(frozen=True, slots=True)
class ErasureTombstone:
    subject_id: str
    profiles: tuple[str, ...]
    request_id: str | None
    occurred_at: datetime
    suppression: tuple[tuple[str, str], ...]  # (hash, kind)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "profiles": list(self.profiles),
            "request_id": self.request_id,
            "occurred_at": self.occurred_at.isoformat(),
            "suppression": [list(pair) for pair in self.suppression],
        }


def _seal(keyring: Keyring, body: str) -> str:
    return hmac.new(keyring.derive("journal"), body.encode(), hashlib.sha256).hexdigest()


def append(data_dir: Path, keyring: Keyring, tombstone: ErasureTombstone) -> None:
    body = json.dumps(tombstone.as_dict(), separators=(",", ":"), sort_keys=True)
    line = json.dumps({"entry": body, "seal": _seal(keyring, body)}) + "\n"
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / JOURNAL_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read(data_dir: Path, keyring: Keyring) -> list[ErasureTombstone]:
    path = data_dir / JOURNAL_NAME
    if not path.exists():
        return []
    tombstones = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            wrapper = json.loads(line)
            body = str(wrapper["entry"])
            sealed = hmac.compare_digest(_seal(keyring, body), str(wrapper["seal"]))
        except (ValueError, KeyError, TypeError):
            sealed = False
        if not sealed:
            raise StoreNotReady(f"{path} line {number} is not a sealed erasure record: check it.")
        entry = json.loads(body)
        tombstones.append(
            ErasureTombstone(
                subject_id=entry["subject_id"],
                profiles=tuple(entry["profiles"]),
                request_id=entry["request_id"],
                occurred_at=datetime.fromisoformat(entry["occurred_at"]),
                suppression=tuple((str(h), str(k)) for h, k in entry["suppression"]),
            )
        )
    return tombstones
