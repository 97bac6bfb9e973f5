"""The attribute registry: what may be stored about a person, with category and sensitivity.

Core fields are declared in code (``fields.CORE_FIELDS``); custom attributes must be declared
before a value is accepted for them, so that every stored value has a category, a sensitivity,
and later a purpose and a retention period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from clientela.domain.errors import InvalidValue
from clientela.domain.values import normalise_text, parse_date

__all__ = [
    "ATTRIBUTE_KEY",
    "AttributeDefinition",
    "AttributeType",
    "Category",
    "Sensitivity",
    "coerce_attribute_value",
]


class Category(StrEnum):
    """The five kinds of customer data."""

    PERSONAL = "personal"
    DEMOGRAPHIC = "demographic"
    BEHAVIOURAL = "behavioural"
    PSYCHOGRAPHIC = "psychographic"
    TRANSACTIONAL = "transactional"


class Sensitivity(StrEnum):
    """How much harm a leak does: drives masking, encryption and the privacy check.

    ``special`` is special-category data (LGPD Art. 5 II, GDPR Art. 9: health, religion,
    ethnicity, political opinion, sex life, genetic, biometric, union membership).
    """

    INTERNAL = "internal"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"
    SPECIAL = "special"


class AttributeType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    STRING_LIST = "string_list"


ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_STRING_ATTRIBUTE = 1000
MAX_LIST_ITEMS = 100


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    key: str
    type: AttributeType
    category: Category
    sensitivity: Sensitivity
    description: str = ""
    enum_values: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    retention_days: int | None = None
    core: bool = False
    writable: bool = True
    labels: dict[str, str] = field(default_factory=dict)


def coerce_attribute_value(definition: AttributeDefinition, value: Any) -> Any:
    """Check ``value`` against the declared type; return its JSON-storable canonical form."""
    kind = definition.type
    if kind is AttributeType.STRING:
        if not isinstance(value, str):
            raise InvalidValue("must be text", "type")
        return normalise_text(value, max_length=MAX_STRING_ATTRIBUTE)
    if kind is AttributeType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue("must be a whole number", "type")
        if abs(value) > 2**53:
            raise InvalidValue("is out of range", "out_of_range")
        return value
    if kind is AttributeType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue("must be a number", "type")
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidValue("must be a finite number", "out_of_range")
        return value
    if kind is AttributeType.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidValue("must be true or false", "type")
        return value
    if kind is AttributeType.DATE:
        return parse_date(value).isoformat()
    if kind is AttributeType.DATETIME:
        return _parse_datetime(value).isoformat()
    if kind is AttributeType.ENUM:
        if not isinstance(value, str) or value not in definition.enum_values:
            raise InvalidValue(
                f"must be one of {', '.join(definition.enum_values)}", "invalid_choice"
            )
        return value
    if kind is AttributeType.STRING_LIST:
        return _string_list(value)
    raise InvalidValue("has an unknown type", "type")  # pragma: no cover - enum is exhaustive


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise InvalidValue("must be a list of text values", "type")
    if len(value) > MAX_LIST_ITEMS:
        raise InvalidValue(f"has more than {MAX_LIST_ITEMS} items", "too_long")
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidValue("must be a list of text values", "type")
        text = normalise_text(item, max_length=MAX_STRING_ATTRIBUTE)
        if text not in items:
            items.append(text)
    return items


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidValue(
                "must be an ISO 8601 date-time with offset", "invalid_datetime"
            ) from None
    else:
        raise InvalidValue("must be an ISO 8601 date-time", "type")
    if parsed.tzinfo is None:
        raise InvalidValue("must carry a time-zone offset", "invalid_datetime")
    return parsed


def check_definition(
    definition: AttributeDefinition, core_keys: Sequence[str]
) -> list[tuple[str, str]]:
    """Problems with a proposed declaration, as (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    if not ATTRIBUTE_KEY.match(definition.key):
        problems.append(("key", "must start with a letter and have only a-z, 0-9 and _ (max 63)"))
    if definition.key in core_keys:
        problems.append(("key", "is a core field name; core fields need no declaration"))
    if definition.type is AttributeType.ENUM and not definition.enum_values:
        problems.append(("enum_values", "an enum attribute needs at least one value"))
    if definition.type is not AttributeType.ENUM and definition.enum_values:
        problems.append(("enum_values", "only enum attributes have values"))
    if definition.retention_days is not None and definition.retention_days < 1:
        problems.append(("retention_days", "must be at least 1 day"))
    return problems
