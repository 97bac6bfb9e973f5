"""Imports started through the API: the file is kept in the data directory, the run recorded
with its summary, and the reject file kept for download (it holds personal data: reading it
is audited)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import ClientelaError, NotFound
from clientela.domain.fields import WRITABLE_FIELDS
from clientela.domain.ids import new_id
from clientela.ingest.activity_import import import_activity
from clientela.ingest.imports import import_customers
from clientela.ingest.mapping import auto_mapping
from clientela.ingest.readers import open_table
from clientela.settings import Settings
from clientela.storage.store import Store

__all__ = ["get_import", "list_imports", "rejects_of", "run_import"]

KINDS = ("customers", "transactions", "events")


def safe_name(name: str) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", Path(name).name)[:120].lstrip(".")
    return stem or "upload"


def run_import(
    store: Store,
    data: bytes,
    file_name: str,
    *,
    kind: str,
    source: str,
    id_column: str | None,
    settings: Settings,
    actor: Actor,
    mapping: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Import an uploaded file as a recorded job; ``mapping`` (customers) is the person's
    choice of target per column, over the automatic one."""
    import_id = new_id()
    folder = settings.data_dir / "imports" / import_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_name(file_name)
    path.write_bytes(data)
    with store.unit_of_work() as uow:
        uow.imports.add(
            {
                "id": import_id,
                "kind": kind,
                "source": source,
                "file_name": path.name,
                "status": "running",
                "actor": actor.label,
                "created_at": utcnow(),
            }
        )
        uow.commit()
    try:
        if kind == "customers":
            summary: Any = import_customers(
                store,
                path,
                settings=settings,
                actor=actor,
                source=source,
                id_column=id_column,
                mapping_overrides=mapping,
                workers=1,
            )
        else:
            summary = import_activity(
                store,
                path,
                kind=kind,
                settings=settings,
                actor=actor,
                source=source,
                id_column=id_column,
            )
    except ClientelaError as exc:
        _finish(
            store,
            import_id,
            "failed",
            {"error": exc.detail, "errors": [e.as_dict() for e in exc.errors]},
            None,
        )
        raise
    finally:
        path.unlink(missing_ok=True)  # the upload itself is not kept: only results are
    result = {k: v for k, v in asdict(summary).items() if not k.startswith("_")}
    _finish(store, import_id, "done", result, summary.reject_file)
    return get_import(store, import_id)


def preview_import(
    path: Path, *, kind: str, source: str, id_column: str | None, rows: int = 5
) -> dict[str, Any]:
    """What an import would read: the columns, where each goes (customers), the first rows."""
    table = open_table(path)
    sample = []
    for _, row in table.rows:
        sample.append({header: row.get(header) for header in table.headers})
        if len(sample) >= rows:
            break
    targets: dict[str, str] = {}
    unmapped: list[str] = []
    if kind == "customers":
        mapping = auto_mapping(table.headers, id_column=id_column, source=source)
        targets, unmapped = dict(mapping.targets), list(mapping.unmapped)
    return {
        "format": table.format,
        "headers": table.headers,
        "targets": targets,
        "unmapped": unmapped,
        "sample": sample,
        "choices": _choices(targets, source),
    }


def _choices(targets: Mapping[str, str], source: str) -> list[str]:
    """What a column of a customer file can go to: every writable field, the identities, and
    whatever the automatic mapping chose (a declared attribute, say)."""
    offered = sorted(WRITABLE_FIELDS)
    offered += ["identity:user_id", "identity:anonymous_id", f"identity:external:{source}"]
    return offered + sorted(set(targets.values()) - set(offered))


def _finish(
    store: Store, import_id: str, status: str, summary: dict[str, Any], reject_file: str | None
) -> None:
    summary = {k: v for k, v in summary.items() if k != "reject_file"}
    with store.unit_of_work() as uow:
        uow.imports.finish(
            import_id,
            {
                "status": status,
                "summary": summary,
                "reject_file": reject_file,
                "finished_at": utcnow(),
            },
        )
        uow.commit()


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "source": row["source"],
        "file_name": row["file_name"],
        "status": row["status"],
        "actor": row["actor"],
        "summary": row["summary"],
        "has_rejects": row["reject_file"] is not None,
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
    }


def get_import(store: Store, import_id: str) -> dict[str, Any]:
    with store.unit_of_work(write=False) as uow:
        row = uow.imports.get(import_id)
    if row is None:
        raise NotFound("No import has this id.")
    return _public(row)


def list_imports(store: Store) -> list[dict[str, Any]]:
    with store.unit_of_work(write=False) as uow:
        return [_public(row) for row in uow.imports.list()]


def rejects_of(store: Store, import_id: str, *, actor: Actor) -> bytes:
    with store.unit_of_work(write=False) as uow:
        row = uow.imports.get(import_id)
        if row is None or not row["reject_file"] or not Path(row["reject_file"]).is_file():
            raise NotFound("This import has no reject file.")
        audit.record(uow, actor, "import.rejects.read", [None], [import_id])
        content = Path(row["reject_file"]).read_bytes()
        uow.commit()
    return content
