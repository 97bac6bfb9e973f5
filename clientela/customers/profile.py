"""Turning stored rows into the profile people and clients see, and input into stored rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from clientela.domain.fields import CORE_FIELDS, NAME_PARTS, ProfileChanges
from clientela.domain.values import search_key

__all__ = ["name_tokens", "present_profile", "provenance_values", "stored_values"]

#: Core fields stored as columns of the same name.
_COLUMN_FIELDS = tuple(
    key for key in CORE_FIELDS if key not in ("total_revenue", "average_order_value")
)


def stored_values(changes: ProfileChanges, current_attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for an insert or update from validated changes."""
    values: dict[str, Any] = dict(changes.fields)
    if changes.attributes:
        attributes = dict(current_attributes)
        for key, value in changes.attributes.items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        values["attributes"] = attributes
    return values


def provenance_values(changes: ProfileChanges) -> dict[str, Any]:
    """JSON-ready record of what was said: core fields by name, attributes as ``attributes.x``."""
    said: dict[str, Any] = {key: _json_ready(value) for key, value in changes.fields.items()}
    for key, value in changes.attributes.items():
        said[f"attributes.{key}"] = value
    return said


def name_tokens(row: Mapping[str, Any]) -> set[str]:
    """Search tokens of every name of a person (the full name and its parts may differ)."""
    names = [row.get(key) for key in ("full_name", *NAME_PARTS)]
    text = " ".join(dict.fromkeys(name for name in names if name))
    return {token[:100] for token in search_key(text).split(" ") if token}


def present_profile(
    row: Mapping[str, Any],
    *,
    identities: Sequence[Mapping[str, Any]] | None = None,
    counts: Mapping[str, int] | None = None,
    currency: str,
    currency_exponent: int,
) -> dict[str, Any]:
    """The public shape of a profile: fields grouped by category, identities and counts."""
    scale = 10**currency_exponent
    total = row["total_revenue_minor"] / scale
    orders = row["order_count"]
    profile: dict[str, Any] = {
        "id": row["id"],
        "status": row["status"],
        "merged_into": row["merged_into"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }
    for key in _COLUMN_FIELDS:
        profile[key] = row.get(key)
    profile["total_revenue"] = round(total, currency_exponent)
    profile["average_order_value"] = round(total / orders, currency_exponent) if orders else None
    profile["currency"] = currency
    profile["quality_score"] = row.get("quality_score")
    profile["quality"] = row.get("quality")
    profile["attributes"] = dict(row.get("attributes") or {})
    if identities is not None:
        profile["identities"] = [
            {
                "id": identity["id"],
                "kind": identity["kind"],
                "value": identity["value"],
                "verified": bool(identity["verified"]),
                "first_seen_at": identity["first_seen_at"],
                "last_seen_at": identity["last_seen_at"],
            }
            for identity in identities
        ]
    if counts is not None:
        profile["counts"] = dict(counts)
    return profile


def personal_fields_present(profile: Mapping[str, Any]) -> list[str]:
    """Names of the fields that hold a value: what an audit entry of a read records."""
    present = [key for key in CORE_FIELDS if profile.get(key) not in (None, [], "")]
    present.extend(f"attributes.{key}" for key in profile.get("attributes") or {})
    if profile.get("identities"):
        present.append("identities")
    return present


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
