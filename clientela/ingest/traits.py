"""Segment traits (reserved names of the spec, camelCase and snake_case) to profile fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["profile_changes_from_traits"]

_TRAITS = {
    "firstName": "given_name",
    "first_name": "given_name",
    "lastName": "family_name",
    "last_name": "family_name",
    "name": "full_name",
    "email": "email",
    "phone": "phone",
    "birthday": "birth_date",
    "gender": "gender",
    "cpf": "document",
    "document": "document",
    "title": "occupation",
    "locale": "locale",
}
_ADDRESS = {
    "street": "address_line1",
    "city": "city",
    "state": "region",
    "postalCode": "postal_code",
    "postal_code": "postal_code",
    "country": "country",
}
#: Spec traits that describe the person but have no profile field: kept on the event only.
IGNORED = frozenset(
    {
        "id",
        "userId",
        "avatar",
        "createdAt",
        "description",
        "username",
        "website",
        "age",
        "company",
        "plan",
        "logins",
    }
)


def profile_changes_from_traits(
    traits: Mapping[str, Any], declared: frozenset[str]
) -> dict[str, Any]:
    """Profile changes named by ``traits``; undeclared custom traits stay on the event only."""
    changes: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in traits.items():
        if value is None:
            continue
        if key in _TRAITS:
            changes[_TRAITS[key]] = value
        elif key == "address" and isinstance(value, Mapping):
            for part, field in _ADDRESS.items():
                if value.get(part) is not None:
                    changes[field] = value[part]
        elif key in _ADDRESS and key != "street":
            changes.setdefault(_ADDRESS[key], value)  # flat address traits, as many apps send
        elif key in declared:
            attributes[key] = value
    if attributes:
        changes["attributes"] = attributes
    if "full_name" in changes and ("given_name" in changes or "family_name" in changes):
        changes.pop("full_name")  # the parts are more precise than a name to split
    return changes
