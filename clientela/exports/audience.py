"""Export an audience for a purpose: only people eligible for it, only fields it uses.

Eligibility (``privacy.consent.eligible``) is the same rule the API answers per person; the
people it excludes are counted by reason. Fields are limited to those the purposes register
says the purpose uses (purpose limitation, GDPR Art. 5(1)(b), LGPD Art. 6 I).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, BinaryIO

from clientela.audit import service as audit
from clientela.domain.actor import Actor
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.privacy.consent import eligible
from clientela.privacy.register import data_map
from clientela.security.policy import Access, field_access, mask_value
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = ["FORMATS", "MEDIA_TYPES", "export_audience"]

FORMATS = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
DEFAULT_FIELDS = ("given_name", "family_name", "email", "phone", "locale", "country")


def export_audience(
    uow: UnitOfWork,
    out: BinaryIO,
    *,
    purpose: str,
    actor: Actor,
    settings: Settings,
    customer_ids: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    fmt: str = "csv",
) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ValidationFailed(
            "Unknown export format.",
            errors=[FieldError("format", ", ".join(FORMATS), "invalid_choice")],
        )
    entries = {entry.field: entry for entry in data_map(uow)}
    usable = {name for name, entry in entries.items() if purpose in entry.purposes}
    wanted = list(fields) if fields else [f for f in DEFAULT_FIELDS if f in usable]
    unknown = [name for name in wanted if name not in entries]
    if unknown:
        raise ValidationFailed(
            "Unknown fields.",
            errors=[FieldError(f"fields.{name}", "is not a declared field") for name in unknown],
        )
    refused = [f for f in wanted if f not in usable]
    if refused:
        raise ValidationFailed(
            f"The purpose {purpose!r} does not use these fields (see the purposes register).",
            errors=[FieldError(f"fields.{name}", "not used by this purpose") for name in refused],
        )
    access = {name: field_access(actor.role, name, entries[name].sensitivity) for name in wanted}
    forbidden = [name for name, level in access.items() if level is Access.HIDDEN]
    if forbidden:
        raise ValidationFailed(
            f"The {actor.role} role may not export these fields.",
            errors=[FieldError(f"fields.{name}", "not visible to your role") for name in forbidden],
        )
    candidates = list(customer_ids) if customer_ids is not None else uow.customers.active_ids()
    check = eligible(uow, purpose, candidates, settings=settings)
    sink = _Sink(out, fmt, ["customer_id", *wanted])
    exported: list[str] = []
    allowed = check.allowed
    for start in range(0, len(allowed), 1000):
        for row in uow.customers.get_many(allowed[start : start + 1000]):
            values = [
                _plain(
                    mask_value(name, _value(row, name))
                    if access[name] is Access.MASKED
                    else _value(row, name)
                )
                for name in wanted
            ]
            sink.write([row["id"], *values])
            exported.append(str(row["id"]))
    sink.close()
    audit.record(uow, actor, "export.audience", exported, wanted, purpose=purpose)
    return {
        "purpose": purpose,
        "candidates": len(candidates),
        "exported": len(exported),
        "excluded": dict(sorted(check.excluded.items())),
        "fields": wanted,
    }


class _Sink:
    """Rows to CSV, JSON Lines or Parquet on a binary stream (Parquet is written at the end:
    its column types are inferred over every row)."""

    def __init__(self, out: BinaryIO, fmt: str, columns: list[str]) -> None:
        self.out = out
        self.fmt = fmt
        self.columns = columns
        self.rows: list[list[Any]] = []
        self.text: io.TextIOWrapper | None = None
        if fmt in ("csv", "jsonl"):
            text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
            self.text = text
            self.csv = csv.writer(text)
            if fmt == "csv":
                self.csv.writerow(columns)

    def write(self, values: list[Any]) -> None:
        if self.fmt == "csv":
            self.csv.writerow(["" if v is None else v for v in values])
        elif self.fmt == "jsonl":
            assert self.text is not None
            record = dict(zip(self.columns, values, strict=True))
            self.text.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self.rows.append(values)

    def close(self) -> None:
        if self.text is not None:
            self.text.flush()
            self.text.detach()  # the caller owns the stream
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(
            [dict(zip(self.columns, values, strict=True)) for values in self.rows]
        )
        if not self.rows:
            table = pa.table({name: pa.array([], pa.string()) for name in self.columns})
        pq.write_table(table, self.out, compression="zstd")


def _value(row: dict[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    return (row.get("attributes") or {}).get(name)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value
