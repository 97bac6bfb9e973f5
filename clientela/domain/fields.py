"""Core profile fields, their categories, and the validation of a set of changes to a profile.

One function, ``validate_changes``, serves every write path (REST API, imports, tracking traits,
demo data), so the same input is accepted or refused the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clientela.domain.attributes import (
    AttributeDefinition,
    AttributeType,
    Category,
    Sensitivity,
    coerce_attribute_value,
)
from clientela.domain.errors import ErrorCollector, InvalidValue
from clientela.domain.values import (
    join_name,
    normalise_birth_date,
    normalise_country,
    normalise_cpf,
    normalise_email,
    normalise_gender,
    normalise_locale,
    normalise_person_name,
    normalise_phone,
    normalise_postal_code,
    normalise_tag,
    normalise_text,
    split_full_name,
)

__all__ = [
    "CORE_FIELDS",
    "DERIVED_FIELDS",
    "IDENTITY_FIELDS",
    "WRITABLE_FIELDS",
    "ProfileChanges",
    "ValidationContext",
    "validate_changes",
]

EDUCATION_LEVELS = ("none", "primary", "secondary", "vocational", "tertiary", "postgraduate")
MARITAL_STATUSES = ("single", "married", "domestic_partnership", "separated", "divorced", "widowed")
CHANNELS = ("email", "sms", "whatsapp", "phone", "push", "mail", "web", "app", "in_store")
PAYMENT_METHODS = (
    "credit_card",
    "debit_card",
    "pix",
    "boleto",
    "cash",
    "bank_transfer",
    "wallet",
    "other",
)


def _field(
    key: str,
    type_: AttributeType,
    category: Category,
    sensitivity: Sensitivity = Sensitivity.PERSONAL,
    description: str = "",
    *,
    enum_values: tuple[str, ...] = (),
    writable: bool = True,
) -> AttributeDefinition:
    return AttributeDefinition(
        key=key,
        type=type_,
        category=category,
        sensitivity=sensitivity,
        description=description,
        enum_values=enum_values,
        core=True,
        writable=writable,
    )


_S, _D, _E, _L, _I, _N, _T = (
    AttributeType.STRING,
    AttributeType.DATE,
    AttributeType.ENUM,
    AttributeType.STRING_LIST,
    AttributeType.INTEGER,
    AttributeType.NUMBER,
    AttributeType.DATETIME,
)
_P, _DEM, _B, _PSY, _TR = (
    Category.PERSONAL,
    Category.DEMOGRAPHIC,
    Category.BEHAVIOURAL,
    Category.PSYCHOGRAPHIC,
    Category.TRANSACTIONAL,
)

CORE_FIELDS: dict[str, AttributeDefinition] = {
    definition.key: definition
    for definition in (
        # personal and contact
        _field("given_name", _S, _P, description="Given (first) name"),
        _field("middle_name", _S, _P, description="Middle name or patronymic"),
        _field("family_name", _S, _P, description="Family name (surname)"),
        _field("full_name", _S, _P, description="Full name as the person writes it"),
        _field("email", _S, _P, description="Primary e-mail address (lower case)"),
        _field("phone", _S, _P, description="Primary phone number in E.164"),
        _field("birth_date", _D, _P, Sensitivity.SENSITIVE, "Date of birth"),
        _field(
            "gender",
            _E,
            _P,
            description="Gender as stated",
            enum_values=("female", "male", "non_binary", "other", "undisclosed"),
        ),
        _field("document", _S, _P, Sensitivity.SENSITIVE, "National document (Brazilian CPF)"),
        _field("address_line1", _S, _P, description="Street and number"),
        _field("address_line2", _S, _P, description="Complement, district"),
        _field("city", _S, _P, description="City"),
        _field("region", _S, _P, description="State or region"),
        _field("postal_code", _S, _P, description="Postal code (CEP, ZIP, индекс)"),
        _field("country", _S, _P, description="ISO 3166-1 alpha-2 country code"),
        _field("locale", _S, _P, description="Preferred language, BCP 47 (pt-BR)"),
        # demographic
        _field(
            "education",
            _E,
            _DEM,
            description="Highest education level",
            enum_values=EDUCATION_LEVELS,
        ),
        _field("occupation", _S, _DEM, description="Occupation"),
        _field("income_band", _S, _DEM, description="Income band (e.g. social class A-E)"),
        _field(
            "marital_status", _E, _DEM, description="Marital status", enum_values=MARITAL_STATUSES
        ),
        _field("household_size", _I, _DEM, description="People in the household"),
        # psychographic
        _field("interests", _L, _PSY, description="Interests (tags)"),
        _field("values", _L, _PSY, description="Values (tags)"),
        _field("lifestyle", _L, _PSY, description="Lifestyle (tags)"),
        # behavioural
        _field(
            "preferred_channel",
            _E,
            _B,
            description="Preferred contact channel",
            enum_values=CHANNELS,
        ),
        _field("first_seen_at", _T, _B, description="First event", writable=False),
        _field("last_seen_at", _T, _B, description="Latest event", writable=False),
        _field("event_count", _I, _B, description="Events recorded", writable=False),
        # transactional
        _field(
            "preferred_payment_method",
            _E,
            _TR,
            description="Preferred payment method",
            enum_values=PAYMENT_METHODS,
        ),
        _field("order_count", _I, _TR, description="Completed orders", writable=False),
        _field(
            "total_revenue", _N, _TR, description="Revenue from completed orders", writable=False
        ),
        _field("average_order_value", _N, _TR, description="Average order value", writable=False),
        _field("first_order_at", _T, _TR, description="First order", writable=False),
        _field("last_order_at", _T, _TR, description="Latest order", writable=False),
    )
}

WRITABLE_FIELDS = frozenset(key for key, spec in CORE_FIELDS.items() if spec.writable)
DERIVED_FIELDS = frozenset(key for key, spec in CORE_FIELDS.items() if not spec.writable)
#: Core fields whose value is also an identity of the person (kind of identity).
IDENTITY_FIELDS: dict[str, str] = {"email": "email", "phone": "phone", "document": "document"}
NAME_PARTS = ("given_name", "middle_name", "family_name")
_TEXT_LIMITS = {
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "occupation": 100,
    "income_band": 40,
}
MAX_HOUSEHOLD = 50


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What validation depends on besides the input: the default phone region and today."""

    region: str
    today: date
    check_deliverability: bool = False


@dataclass(slots=True)
class ProfileChanges:
    """Validated, normalised changes: a value to set, or ``None`` to clear."""

    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.fields and not self.attributes


def validate_changes(
    changes: Mapping[str, Any],
    *,
    context: ValidationContext,
    registry: Mapping[str, AttributeDefinition],
    current: Mapping[str, Any] | None = None,
    prefix: str = "",
) -> ProfileChanges:
    """Validate and normalise changes to a profile; raise ``ValidationFailed`` naming every field.

    ``changes`` maps core field names to values (``None`` clears) and may carry ``attributes``,
    a mapping of declared custom attribute keys to values (``None`` removes).
    ``current`` is the stored profile for a partial update (postal codes and names depend on it).
    """
    collector = ErrorCollector()
    result = ProfileChanges()
    current = current or {}
    for key, value in changes.items():
        if key == "attributes":
            continue
        spec = CORE_FIELDS.get(key)
        if spec is None:
            collector.add(prefix + key, "is not a known field", "unknown_field")
            continue
        if not spec.writable:
            collector.add(
                prefix + key, "is derived from events and orders; it cannot be set", "read_only"
            )
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            result.fields[key] = None
            continue
        try:
            result.fields[key] = _normalise_core(key, value, context, changes, current)
        except InvalidValue as exc:
            collector.add(prefix + key, exc.message, exc.code)
    raw_attributes = changes.get("attributes")
    if raw_attributes is not None:
        if not isinstance(raw_attributes, Mapping):
            collector.add(prefix + "attributes", "must be an object of declared attributes", "type")
        else:
            for key, value in raw_attributes.items():
                path = f"{prefix}attributes.{key}"
                definition = registry.get(key)
                if definition is None or definition.core:
                    collector.add(
                        path,
                        "is not a declared attribute; declare it in the attribute registry first",
                        "undeclared_attribute",
                    )
                    continue
                if value is None:
                    result.attributes[key] = None
                    continue
                try:
                    result.attributes[key] = coerce_attribute_value(definition, value)
                except InvalidValue as exc:
                    collector.add(path, exc.message, exc.code)
    collector.raise_if_any()
    _derive_names(result, current, context)
    return result


def _normalise_core(
    key: str,
    value: Any,
    context: ValidationContext,
    changes: Mapping[str, Any],
    current: Mapping[str, Any],
) -> Any:
    if key in ("given_name", "middle_name", "family_name", "full_name"):
        return normalise_person_name(_text(value))
    if key == "email":
        return normalise_email(_text(value), check_deliverability=context.check_deliverability)
    if key == "phone":
        country = changes.get("country") or current.get("country")
        region = _region_for(country, context.region)
        return normalise_phone(_text(value), region=region)
    if key == "birth_date":
        return normalise_birth_date(value, today=context.today)
    if key == "gender":
        return normalise_gender(_text(value))
    if key == "document":
        return normalise_cpf(_text(value) if not isinstance(value, int) else str(value))
    if key == "country":
        return normalise_country(_text(value))
    if key == "postal_code":
        country = changes.get("country") or current.get("country")
        return normalise_postal_code(_text(value), country=_region_or_none(country))
    if key == "locale":
        return normalise_locale(_text(value))
    if key in _TEXT_LIMITS:
        return normalise_text(_text(value), max_length=_TEXT_LIMITS[key], field_label="value")
    if key == "household_size":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue("must be a whole number", "type")
        if not 1 <= value <= MAX_HOUSEHOLD:
            raise InvalidValue(f"must be between 1 and {MAX_HOUSEHOLD}", "out_of_range")
        return value
    if key in ("interests", "values", "lifestyle"):
        return _tags(value)
    spec = CORE_FIELDS[key]
    return coerce_attribute_value(spec, value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be text", "type")
    return value


def _tags(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidValue("must be a list of tags", "type")
    if len(value) > 50:
        raise InvalidValue("has more than 50 tags", "too_long")
    tags: list[str] = []
    for item in value:
        tag = normalise_tag(_text(item))
        if tag not in tags:
            tags.append(tag)
    return sorted(tags)


def _region_for(country: Any, default: str) -> str:
    region = _region_or_none(country)
    return region or default


def _region_or_none(country: Any) -> str | None:
    if not isinstance(country, str):
        return None
    try:
        return normalise_country(country)
    except InvalidValue:
        return None


def _derive_names(
    result: ProfileChanges, current: Mapping[str, Any], context: ValidationContext
) -> None:
    """Keep full name and name parts consistent: one is derived from the other when missing."""
    fields = result.fields
    parts_changed = any(part in fields for part in NAME_PARTS)
    if fields.get("full_name") and not parts_changed:
        locale = fields.get("locale") or current.get("locale")
        given, middle, family = split_full_name(fields["full_name"], locale=locale)
        fields["given_name"] = given
        fields["middle_name"] = middle
        fields["family_name"] = family or None
    elif parts_changed and "full_name" not in fields:
        merged = {part: fields.get(part, current.get(part)) for part in NAME_PARTS}
        fields["full_name"] = join_name(
            merged["given_name"], merged["middle_name"], merged["family_name"]
        )
    del context  # names do not depend on region or date today; kept for a uniform signature
