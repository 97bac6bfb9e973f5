"""Bulk import of customers from other systems' exports.

Each row goes through the same validation and identity stitching as the API: rows that match
no one become new profiles (set-based inserts), rows that match someone update that profile
(newest observation wins, provenance kept), rows that link two profiles merge them. Rows that
fail are written to a reject file (row number, reason, original values). Each chunk is one
transaction, so a row is never half-applied and an interrupted import can be re-run: rows
already imported come back as unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clientela.attributes.service import registry as attribute_registry
from clientela.audit import service as audit
from clientela.customers.bulk import checked_chunks
from clientela.customers.observations import apply_observation
from clientela.customers.service import (
    CheckedRecord,
    check_records,
    create_customers,
    validation_context,
)
from clientela.domain.actor import Actor, utcnow
from clientela.domain.attributes import AttributeDefinition
from clientela.domain.fields import ValidationContext
from clientela.identity.stitching import resolve
from clientela.ingest.mapping import ColumnMapping, auto_mapping
from clientela.ingest.readers import open_table, write_rejects
from clientela.privacy.suppression import suppressed_keys, suppressed_message
from clientela.quality.service import refresh_quality
from clientela.settings import Settings
from clientela.sources.service import ensure_source
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["ImportSummary", "InvalidFields", "import_customers"]

InvalidFields = Literal["reject", "drop"]


@dataclass
class ImportSummary:
    format: str
    encoding: str | None
    delimiter: str | None
    mapping: dict[str, str]
    unmapped: list[str]
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: int = 0
    reject_file: str | None = None
    #: rows imported without some invalid values (``invalid_fields="drop"``)
    partial: int = 0
    partial_file: str | None = None
    _rejects: list[tuple[int, dict[str, Any], str]] = field(default_factory=list, repr=False)
    _partials: list[tuple[int, dict[str, Any], str]] = field(default_factory=list, repr=False)


def import_customers(
    store: Store,
    path: Path,
    *,
    settings: Settings,
    actor: Actor,
    source: str = "import",
    mapping_overrides: Mapping[str, str] | None = None,
    id_column: str | None = None,
    dry_run: bool = False,
    reject_path: Path | None = None,
    file_format: str | None = None,
    chunk_size: int = 2000,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    invalid_fields: InvalidFields = "reject",
) -> ImportSummary:
    """Import a customer file. ``invalid_fields="drop"`` imports a row whose only faults are
    invalid field values without those values (listed, with the original row, in a
    ``.partial.csv`` file) instead of refusing the whole row."""
    table = open_table(path, format=file_format)
    mapping = auto_mapping(
        table.headers, overrides=mapping_overrides, id_column=id_column, source=source
    )
    summary = ImportSummary(
        table.format,
        table.encoding,
        table.delimiter,
        dict(mapping.targets),
        mapping.unmapped,
        dry_run,
    )
    with store.unit_of_work() as uow:
        source_id = ensure_source(uow, source, kind="import")
        registry = attribute_registry(uow)
        uow.commit()
    context = validation_context(settings)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    numbered: list[tuple[int, dict[str, Any]]] = []

    def records() -> Any:
        for number, row in table.rows:
            numbered.append((number, row))
            yield _record(mapping, row)

    for chunk, checked in checked_chunks(
        records(), context, registry, chunk_size=chunk_size, workers=workers
    ):
        rows = numbered[: len(chunk)]
        del numbered[: len(chunk)]
        if invalid_fields == "drop":
            _drop_invalid_fields(chunk, checked, rows, summary, context, registry)
        with store.unit_of_work() as uow:
            _import_chunk(uow, rows, chunk, checked, summary, source_id, actor, settings, source)
            if not dry_run:
                uow.commit()
        summary.rows += len(chunk)
        if on_progress is not None:
            on_progress(len(chunk))
    summary.rejected = len(summary._rejects)
    if summary._rejects:
        target = reject_path or path.with_name(path.stem + ".rejects.csv")
        write_rejects(target, table.headers, summary._rejects)
        summary.reject_file = str(target)
    summary.partial = len(summary._partials)
    if summary._partials:
        target = path.with_name(path.stem + ".partial.csv")
        write_rejects(target, table.headers, summary._partials)
        summary.partial_file = str(target)
    return summary


def _drop_invalid_fields(
    chunk: list[Mapping[str, Any]],
    checked: list[CheckedRecord],
    rows: list[tuple[int, dict[str, Any]]],
    summary: ImportSummary,
    context: ValidationContext,
    registry: Mapping[str, AttributeDefinition],
) -> None:
    """Re-check refused rows without their invalid field values; identities are never dropped
    (a wrong identity must not be guessed around), so such rows stay refused."""
    for position, item in enumerate(checked):
        if item.changes is not None or "__invalid__" in chunk[position] or not item.errors:
            continue
        record = dict(chunk[position])
        attributes = dict(record.get("attributes") or {})
        dropped = []
        for error in item.errors:
            name = error.field
            if name.startswith("attributes.") and name[11:] in attributes:
                attributes.pop(name[11:])
            elif name in record and name not in ("identities", "attributes"):
                record.pop(name)
            else:
                break
            dropped.append(f"{error.field}: {error.message}")
        else:
            if "attributes" in record:
                record["attributes"] = attributes
            again = check_records([record], context, registry)[0]
            if again.changes is not None:
                chunk[position] = record
                checked[position] = again
                number, row = rows[position]
                summary._partials.append((number, row, "dropped " + "; ".join(dropped)))


def _record(mapping: ColumnMapping, row: dict[str, Any]) -> dict[str, Any]:
    if "__invalid__" in row:
        return {"__invalid__": row["__invalid__"]}
    return mapping.record(row)


def _import_chunk(
    uow: UnitOfWork,
    rows: list[tuple[int, dict[str, Any]]],
    chunk: list[Mapping[str, Any]],
    checked: list[CheckedRecord],
    summary: ImportSummary,
    source_id: str,
    actor: Actor,
    settings: Settings,
    source: str,
) -> None:
    owners = uow.identities.owners_of(
        (key.kind, key.value) for item in checked for key in item.keys
    )
    suppressed = suppressed_keys(uow, [key for item in checked for key in item.keys])
    seen: set[tuple[str, str]] = set()
    fresh: list[int] = []
    known: list[int] = []
    for position, item in enumerate(checked):
        number, row = rows[position]
        if "__invalid__" in chunk[position]:
            summary._rejects.append((number, row, str(chunk[position]["__invalid__"])))
            continue
        if item.changes is None:
            reason = "; ".join(f"{e.field}: {e.message}" for e in item.errors)
            summary._rejects.append((number, row, reason))
            continue
        hit = next((key for key in item.keys if key in suppressed), None)
        if hit is not None:
            reason = f"{hit.kind}: {suppressed_message(suppressed[hit])}"
            summary._rejects.append((number, row, reason))
            continue
        pairs = {(key.kind, key.value) for key in item.keys}
        if not pairs:
            summary._rejects.append(
                (
                    number,
                    row,
                    "no identity: the row has no e-mail, phone, document or id column value",
                )
            )
            continue
        if pairs & owners.keys() or pairs & seen:
            known.append(position)
        else:
            fresh.append(position)
        seen |= pairs
    if fresh:
        result = create_customers(
            uow,
            [chunk[p] for p in fresh],
            actor=actor,
            settings=settings,
            source=source,
            checked=[checked[p] for p in fresh],
        )
        summary.created += len(result.created)
        for rejection in result.rejected:  # cannot happen after the checks above; kept honest
            number, row = rows[fresh[rejection.index]]
            error = rejection.errors[0]
            summary._rejects.append((number, row, f"{error.field}: {error.message}"))
    now = utcnow()
    touched: list[str] = []
    for position in known:
        item = checked[position]
        assert item.changes is not None
        number, _ = rows[position]
        resolution = resolve(
            uow, item.keys, source_id=source_id, seen_at=now, actor=actor, reason="identity"
        )
        summary.merged += len(resolution.merged)
        summary.created += int(resolution.created)
        changes: dict[str, Any] = dict(item.changes.fields)
        if item.changes.attributes:
            changes["attributes"] = item.changes.attributes
        changed = apply_observation(
            uow,
            resolution.customer_id,
            changes,
            stamp=[now.isoformat(), f"{number:012d}"],
            observed_at=now,
            source_id=source_id,
            actor=actor,
        )
        if resolution.created:
            continue
        if changed:
            summary.updated += 1
            touched.append(resolution.customer_id)
        else:
            summary.unchanged += 1
    if touched:
        refresh_quality(uow, touched, settings=settings, now=now)
        audit.record(uow, actor, "customer.import_update", touched, ["*"])
