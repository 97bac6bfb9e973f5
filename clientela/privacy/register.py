"""The purposes register (records of processing, GDPR Art. 30 / LGPD Art. 37) and the data map.

A field is used by the purposes it names in the attribute registry or, when it names none, by
every purpose whose data categories include the field's category. Its retention is its own, or
the longest of its purposes'. ``check`` lists every field the register leaves uncovered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clientela.attributes.service import list_attributes
from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.attributes import AttributeDefinition, Category, Sensitivity
from clientela.domain.errors import Conflict, ErrorCollector, NotFound
from clientela.domain.ids import new_id
from clientela.domain.privacy import LAWFUL_BASES, SPECIAL_DATA_BASES
from clientela.storage.errors import DuplicateKey
from clientela.storage.uow import UnitOfWork

__all__ = [
    "DataMapEntry",
    "Problem",
    "check_register",
    "create_purpose",
    "data_map",
    "delete_purpose",
    "export_register",
    "get_purpose",
    "list_purposes",
    "update_purpose",
]

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_EDITABLE = (
    "name",
    "description",
    "lawful_basis",
    "data_categories",
    "recipients",
    "international_transfers",
    "retention_days",
    "security_measures",
)


@dataclass(frozen=True, slots=True)
class DataMapEntry:
    field: str
    category: str
    sensitivity: str
    purposes: tuple[str, ...]
    retention_days: int | None


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


def list_purposes(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [_public(row) for row in uow.purposes.list()]


def get_purpose(uow: UnitOfWork, key: str) -> dict[str, Any]:
    row = uow.purposes.get_by_key(key)
    if row is None:
        raise NotFound("No purpose is registered with this key.")
    return _public(row)


def create_purpose(uow: UnitOfWork, data: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
    values = _validated(data, partial=False)
    now = utcnow()
    row = {
        "id": new_id(),
        "key": values.pop("key"),
        "description": "",
        "recipients": [],
        "international_transfers": [],
        "security_measures": "",
        **values,
        "created_at": now,
        "updated_at": now,
    }
    try:
        uow.purposes.add(row)
    except DuplicateKey:
        raise Conflict("A purpose with this key is already registered.") from None
    audit.record(uow, actor, "purpose.create", [None], [row["key"]])
    return _public(row)


def update_purpose(
    uow: UnitOfWork, key: str, data: Mapping[str, Any], *, actor: Actor
) -> dict[str, Any]:
    get_purpose(uow, key)
    values = _validated(data, partial=True)
    values.pop("key", None)
    if values:
        uow.purposes.update(key, {**values, "updated_at": utcnow()})
        audit.record(uow, actor, "purpose.update", [None], sorted(values))
    return get_purpose(uow, key)


def delete_purpose(uow: UnitOfWork, key: str, *, actor: Actor) -> None:
    row = uow.purposes.get_by_key(key)
    if row is None:
        raise NotFound("No purpose is registered with this key.")
    if uow.purposes.is_used(str(row["id"])):
        raise Conflict("The consent ledger refers to this purpose: it stays in the register.")
    uow.purposes.delete(key)
    audit.record(uow, actor, "purpose.delete", [None], [key])


def data_map(uow: UnitOfWork) -> list[DataMapEntry]:
    purposes = uow.purposes.list()
    entries = []
    for definition in list_attributes(uow):
        used_by = _purposes_of(definition, purposes)
        retention = definition.retention_days
        if retention is None:
            days = [int(p["retention_days"]) for p in used_by if p["retention_days"] is not None]
            retention = max(days) if days else None
        entries.append(
            DataMapEntry(
                field=definition.key,
                category=str(definition.category),
                sensitivity=str(definition.sensitivity),
                purposes=tuple(str(p["key"]) for p in used_by),
                retention_days=retention,
            )
        )
    return entries


def check_register(uow: UnitOfWork) -> list[Problem]:
    """Every field needs a category, a purpose and a retention period; special-category data
    needs a purpose whose lawful basis can cover it (GDPR Art. 9(2), LGPD Art. 11)."""
    purposes = {str(row["key"]): row for row in uow.purposes.list()}
    problems = []
    for definition in list_attributes(uow):
        name = definition.key
        if not definition.category:
            problems.append(Problem(name, "has no data category"))
        unknown = [key for key in definition.purposes if key not in purposes]
        if unknown:
            problems.append(Problem(name, "names unregistered purposes: " + ", ".join(unknown)))
        used_by = _purposes_of(definition, list(purposes.values()))
        if not used_by:
            problems.append(
                Problem(name, f"no registered purpose uses it (category {definition.category})")
            )
        elif definition.retention_days is None and all(
            p["retention_days"] is None for p in used_by
        ):
            problems.append(Problem(name, "has no retention period, nor do its purposes"))
        if definition.sensitivity == Sensitivity.SPECIAL:
            weak = [str(p["key"]) for p in used_by if p["lawful_basis"] not in SPECIAL_DATA_BASES]
            if weak:
                problems.append(
                    Problem(
                        name,
                        "special-category data used under a basis that cannot cover it: "
                        + ", ".join(weak),
                    )
                )
    return problems


def export_register(uow: UnitOfWork, fmt: str) -> str:
    """The register with its data map, as JSON (one document) or CSV (one row per purpose)."""
    purposes = list_purposes(uow)
    entries = data_map(uow)
    if fmt == "json":
        import json

        document = {
            "generated_at": utcnow().isoformat(),
            "purposes": purposes,
            "data_map": [_entry(entry) for entry in entries],
        }
        return json.dumps(document, ensure_ascii=False, indent=2, default=str)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "key",
            "name",
            "lawful_basis",
            "data_categories",
            "fields",
            "recipients",
            "international_transfers",
            "retention_days",
            "security_measures",
        ]
    )
    for purpose in purposes:
        fields = [entry.field for entry in entries if purpose["key"] in entry.purposes]
        writer.writerow(
            [
                purpose["key"],
                purpose["name"],
                purpose["lawful_basis"],
                ";".join(purpose["data_categories"]),
                ";".join(fields),
                ";".join(purpose["recipients"]),
                ";".join(_transfer_text(t) for t in purpose["international_transfers"]),
                purpose["retention_days"] if purpose["retention_days"] is not None else "",
                purpose["security_measures"],
            ]
        )
    return out.getvalue()


def _entry(entry: DataMapEntry) -> dict[str, Any]:
    return {
        "field": entry.field,
        "category": entry.category,
        "sensitivity": entry.sensitivity,
        "purposes": list(entry.purposes),
        "retention_days": entry.retention_days,
    }


def _transfer_text(transfer: Any) -> str:
    if isinstance(transfer, dict):
        return f"{transfer.get('country', '?')} ({transfer.get('safeguard', '?')})"
    return str(transfer)


def _purposes_of(
    definition: AttributeDefinition, purposes: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    if definition.purposes:
        return [p for p in purposes if p["key"] in definition.purposes]
    return [p for p in purposes if str(definition.category) in (p["data_categories"] or [])]


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "key": row["key"],
        "name": row["name"],
        "description": row["description"],
        "lawful_basis": row["lawful_basis"],
        "data_categories": list(row["data_categories"] or []),
        "recipients": list(row["recipients"] or []),
        "international_transfers": list(row["international_transfers"] or []),
        "retention_days": row["retention_days"],
        "security_measures": row["security_measures"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _validated(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    for name in data:
        if name not in (*_EDITABLE, "key"):
            errors.add(name, "is not a purpose field", "unknown_field")
    required = () if partial else ("key", "name", "lawful_basis", "data_categories")
    for name in required:
        if data.get(name) in (None, "", []):
            errors.add(name, "is required", "required")
    if "key" in data and data["key"] not in (None, ""):
        if not isinstance(data["key"], str) or not _KEY.match(data["key"]):
            errors.add("key", "lower-case letters, digits and _, starting with a letter")
        else:
            values["key"] = data["key"]
    for name in ("name", "description", "security_measures"):
        if name in data and data[name] is not None:
            if not isinstance(data[name], str) or len(data[name]) > (
                200 if name == "name" else 4000
            ):
                errors.add(name, "must be text (name: at most 200 characters)")
            else:
                values[name] = data[name].strip()
    if data.get("lawful_basis") is not None:
        if data["lawful_basis"] not in LAWFUL_BASES:
            errors.add(
                "lawful_basis", "must be one of " + ", ".join(LAWFUL_BASES), "invalid_choice"
            )
        else:
            values["lawful_basis"] = data["lawful_basis"]
    if data.get("data_categories") is not None:
        categories = data["data_categories"]
        known = [str(c) for c in Category]
        if not isinstance(categories, list) or any(c not in known for c in categories):
            errors.add(
                "data_categories",
                "each category is one of " + ", ".join(known),
                "invalid_choice",
            )
        else:
            values["data_categories"] = sorted(set(categories))
    if data.get("recipients") is not None:
        if not isinstance(data["recipients"], list) or not all(
            isinstance(r, str) and r.strip() for r in data["recipients"]
        ):
            errors.add("recipients", "must be a list of recipient names")
        else:
            values["recipients"] = [r.strip() for r in data["recipients"]]
    if data.get("international_transfers") is not None:
        transfers = data["international_transfers"]
        if not isinstance(transfers, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("country"), str)
            and isinstance(t.get("safeguard"), str)
            for t in transfers
        ):
            errors.add(
                "international_transfers",
                'must be a list of {"country": ..., "safeguard": ...} (e.g. adequacy, SCC)',
            )
        else:
            values["international_transfers"] = transfers
    if "retention_days" in data:
        days = data["retention_days"]
        if days is not None and (
            not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 36_500
        ):
            errors.add("retention_days", "must be a whole number of days, from 1 to 36500")
        else:
            values["retention_days"] = days
    errors.raise_if_any("The purpose is invalid.")
    return values
