"""Declaring, changing and removing custom attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.attributes import (
    AttributeDefinition,
    AttributeType,
    Category,
    Sensitivity,
    check_definition,
)
from clientela.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from clientela.domain.fields import CORE_FIELDS
from clientela.storage.errors import DuplicateKey
from clientela.storage.uow import UnitOfWork

__all__ = [
    "define_attribute",
    "delete_attribute",
    "get_attribute",
    "list_attributes",
    "registry",
    "update_attribute",
]


def _from_row(row: Mapping[str, Any]) -> AttributeDefinition:
    return AttributeDefinition(
        key=row["key"],
        type=AttributeType(row["type"]),
        category=Category(row["category"]),
        sensitivity=Sensitivity(row["sensitivity"]),
        description=row["description"],
        enum_values=tuple(row["enum_values"] or ()),
        purposes=tuple(row["purposes"] or ()),
        retention_days=row["retention_days"],
    )


def registry(uow: UnitOfWork) -> dict[str, AttributeDefinition]:
    """Declared custom attributes by key (core fields are in ``CORE_FIELDS``)."""
    return {row["key"]: _from_row(row) for row in uow.attributes.list()}


def list_attributes(uow: UnitOfWork, *, include_core: bool = True) -> list[AttributeDefinition]:
    custom = list(registry(uow).values())
    return [*CORE_FIELDS.values(), *custom] if include_core else custom


def get_attribute(uow: UnitOfWork, key: str) -> AttributeDefinition:
    if key in CORE_FIELDS:
        return CORE_FIELDS[key]
    row = uow.attributes.get(key)
    if row is None:
        raise NotFound("No attribute is declared with this key.")
    return _from_row(row)


def _check(definition: AttributeDefinition) -> None:
    problems = check_definition(definition, tuple(CORE_FIELDS))
    if problems:
        raise ValidationFailed(
            "The attribute declaration is invalid.",
            errors=[FieldError(field, message) for field, message in problems],
        )


def define_attribute(
    uow: UnitOfWork, definition: AttributeDefinition, *, actor: Actor
) -> AttributeDefinition:
    _check(definition)
    now = utcnow()
    try:
        uow.attributes.add(
            {
                "key": definition.key,
                "type": definition.type.value,
                "category": definition.category.value,
                "sensitivity": definition.sensitivity.value,
                "description": definition.description,
                "enum_values": list(definition.enum_values),
                "purposes": list(definition.purposes),
                "retention_days": definition.retention_days,
                "created_at": now,
                "updated_at": now,
            }
        )
    except DuplicateKey:
        raise Conflict(
            "An attribute with this key is already declared.",
            errors=[FieldError("key", "is already declared", "duplicate")],
        ) from None
    audit.record(uow, actor, "attribute.define", [None], [definition.key])
    return definition


def update_attribute(
    uow: UnitOfWork, key: str, changes: Mapping[str, Any], *, actor: Actor
) -> AttributeDefinition:
    """Change description, category, sensitivity, purposes, retention or add enum values.

    The type cannot change and enum values cannot be removed while stored values may use them.
    """
    if key in CORE_FIELDS:
        raise Conflict("Core fields are part of the data model and cannot be changed.")
    current = get_attribute(uow, key)
    merged = {
        "description": changes.get("description", current.description),
        "category": Category(changes.get("category", current.category)),
        "sensitivity": Sensitivity(changes.get("sensitivity", current.sensitivity)),
        "purposes": tuple(changes.get("purposes", current.purposes)),
        "retention_days": changes.get("retention_days", current.retention_days),
        "enum_values": tuple(changes.get("enum_values", current.enum_values)),
    }
    removed = set(current.enum_values) - set(merged["enum_values"])
    if removed:
        raise ValidationFailed(
            "Enum values cannot be removed; stored values may use them.",
            errors=[FieldError("enum_values", "must keep every existing value", "removed_value")],
        )
    updated = AttributeDefinition(key=key, type=current.type, **merged)
    _check(updated)
    uow.attributes.update(
        key,
        {
            "description": updated.description,
            "category": updated.category.value,
            "sensitivity": updated.sensitivity.value,
            "purposes": list(updated.purposes),
            "retention_days": updated.retention_days,
            "enum_values": list(updated.enum_values),
            "updated_at": utcnow(),
        },
    )
    audit.record(uow, actor, "attribute.update", [None], [key])
    return updated


def delete_attribute(uow: UnitOfWork, key: str, *, actor: Actor) -> None:
    get_attribute(uow, key)
    if key in CORE_FIELDS:
        raise Conflict("Core fields are part of the data model and cannot be removed.")
    in_use = uow.customers.count_with_attribute(key)
    if in_use:
        raise Conflict(
            f"{in_use} customers hold a value for this attribute; clear those values first.",
            extra={"customers_with_value": in_use},
        )
    uow.attributes.delete(key)
    audit.record(uow, actor, "attribute.delete", [None], [key])
