"""The comparison table of the last duplicate run, kept beside the store, so the next run reads
again only the profiles changed since (at a million profiles, reading and opening every sealed
field took 40 s of a 50 s incremental run).

Each row carries its profile's mark (version and time of the last change, as the store keeps
them): a row is reused while the store shows the same mark for its id, and read again
otherwise; profiles no longer active are left out. Merges, unmerges (a restored profile gets
back its old mark with its old content), edits and erasures all change or remove the mark.

The file holds folded personal data, so it is sealed (AES-256-GCM, a key derived from the
store's root key), written whole or not at all (a new file renamed over the old), removed when
a person is erased, and ignored — the run reads the store — when it does not open, was written
by another version of the table, or names another store.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clientela.dedupe.engine import COLUMNS
from clientela.domain.errors import StoreNotReady
from clientela.security.keyring import Keyring

__all__ = ["FILE_NAME", "MARK", "discard", "load", "marks_table", "reusable", "save"]

logger = logging.getLogger("clientela.dedupe")

FILE_NAME = "dedupe-profiles.sealed"
#: The column of the kept table holding each profile's mark (not a comparison column).
MARK = "_mark"
#: Changes when the comparison table's columns or their folding change: older files are ignored.
FORMAT = f"1:{','.join((*COLUMNS, MARK))}"
_KEY_LABEL = "dedupe-snapshot"


def _aad(store_check: str) -> bytes:
    return f"clientela dedupe snapshot|{FORMAT}|{store_check}".encode()


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def save(path: Path, keyring: Keyring, table: pa.Table, *, store_check: str) -> None:
    """Keep ``table`` (comparison columns and ``MARK``), sealed, replacing any earlier file."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    sealed = keyring.seal_bytes(_KEY_LABEL, buffer.getvalue(), _aad(store_check))
    path.parent.mkdir(parents=True, exist_ok=True)
    # A file of its own (created 0600): runs in threads of one server may save at once.
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(sealed)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def load(path: Path, keyring: Keyring, *, store_check: str) -> pa.Table | None:
    """The kept table, or None when there is none fit to use (the reason is logged). A file
    written for other columns does not open: they are part of its associated data."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return pq.read_table(io.BytesIO(keyring.open_bytes(_KEY_LABEL, data, _aad(store_check))))
    except (StoreNotReady, pa.ArrowException):
        logger.warning("the kept comparison table does not open; every profile is read again")
        return None


def discard(data_dir: Path) -> None:
    """Remove the kept table (a person was erased: their folded data must not outlive them)."""
    path_in(data_dir).unlink(missing_ok=True)


def marks_table(batches: Iterable[Sequence[tuple[Any, str, Any]]]) -> tuple[pa.Table, set[str]]:
    """``(id, mark, changed)`` batches as a table of ids and marks, and the changed ids."""
    ids: list[pa.Array] = []
    marks: list[pa.Array] = []
    changed: set[str] = set()
    for batch in batches:
        batch_ids, batch_marks, flags = zip(*batch, strict=True)
        ids.append(pa.array(batch_ids, pa.string()))
        marks.append(pa.array(batch_marks, pa.string()))
        if any(flags):
            changed.update(str(i) for i, flag in zip(batch_ids, flags, strict=True) if flag)
    return (
        pa.table(
            {
                "unique_id": pa.chunked_array(ids, pa.string()),
                MARK: pa.chunked_array(marks, pa.string()),
            }
        ),
        changed,
    )


def reusable(kept: pa.Table, current: pa.Table) -> tuple[pa.Table, list[str]]:
    """The kept rows whose id and mark the store still shows, and the ids to read again."""
    kept_keys = _keys(kept)
    current_keys = _keys(current)
    still = kept.filter(pc.is_in(kept_keys, value_set=current_keys))
    again = current.filter(pc.invert(pc.is_in(current_keys, value_set=kept_keys)))
    return still, again.column("unique_id").to_pylist()


def _keys(table: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(table.column("unique_id"), table.column(MARK), "\x1f")
