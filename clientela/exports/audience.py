"""Export an audience for a purpose: only people eligible for it, only fields it uses.

Eligibility (``privacy.consent.eligible``) is the same rule the API answers per person; the
people it excludes are counted by reason. Fields are limited to those the purposes register
says the purpose uses (purpose limitation, GDPR Art. 5(1)(b), LGPD Art. 6 I).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TextIO

from clientela.audit import service as audit
from clientela.domain.actor import Actor
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.privacy.consent import eligible
from clientela.privacy.register import data_map
from clientela.security.policy import Access, field_access, mask_value
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = ["FORMATS", "export_audience"]

FORMATS = ("csv", "jsonl")
DEFAULT_FIELDS = ("given_name", "family_name", "email", "phone", "locale", "country")


def export_audience(
    uow: UnitOfWork,
    out: TextIO,
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
            errors=[FieldError("format", "csv or jsonl", "invalid_choice")],
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
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(["customer_id", *wanted])
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
            if writer is not None:
                writer.writerow([row["id"], *("" if v is None else v for v in values)])
            else:
                record = {"customer_id": row["id"], **dict(zip(wanted, values, strict=True))}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            exported.append(str(row["id"]))
    audit.record(uow, actor, "export.audience", exported, wanted, purpose=purpose)
    return {
        "purpose": purpose,
        "candidates": len(candidates),
        "exported": len(exported),
        "excluded": dict(sorted(check.excluded.items())),
        "fields": wanted,
    }


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
