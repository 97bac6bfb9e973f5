"""Identifiers: UUIDv7 (time-ordered, so keyset pagination and B-tree inserts stay cheap)."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid

__all__ = ["is_uuid", "new_id"]

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# Ids are not secrets (they appear in URLs); a PRNG seeded from the OS is enough for the random
# bits and a hundred times cheaper than a system call per id. Reseeded in forked children.
_random = random.Random(os.urandom(32))  # noqa: S311 - see above
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def new_id() -> str:
    """A UUIDv7 string (RFC 9562) that is strictly increasing within this process."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # 12-bit sequence exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
            now_ms = _last_ms
        else:
            _last_ms = now_ms
            _counter = 0
        sequence = _counter
        rand_b = _random.getrandbits(62)
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= sequence << 64
    value |= 0b10 << 62
    value |= rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return len(text) == 36
