"""Segment definitions: a JSON rule tree, checked into typed nodes.

    {"all": [node, ...]}   {"any": [node, ...]}   {"not": node}
    {"field": "country", "op": "in", "value": ["BR", "PT"]}
    {"field": "attributes.tier", "op": "eq", "value": "gold"}
    {"field": "identity.phone", "op": "not_empty"}
    {"field": "score.rfm_segment", "op": "eq", "value": "Champions"}
    {"events": {"name": "Product Viewed", "within_days": 30}, "op": "gte", "value": 2}
    {"events": {"name": "Plan Chosen", "properties": {"plan": "pro"}}, "op": "gte", "value": 1}
    {"orders": {"measure": "sum", "within_days": 365}, "op": "gt", "value": 50000}
    {"orders": {"measure": "count", "product": "SKU-12"}, "op": "gte", "value": 1}
    {"events": {"name": "App Opened", "measure": "last"}, "op": "older_than_days", "value": 30}
    {"consent": "marketing_email"}
    {"segment": "champions"}                 (a member of that saved segment now)

Every error names the node by its path (``all[1].any[0].value``). A condition on an empty value
is false, except ``is_empty`` (SQL's NULL semantics, which the compiler keeps).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from clientela.domain.errors import FieldError, ValidationFailed

__all__ = [
    "FIELD_TYPES",
    "SCORE_TYPES",
    "Aggregate",
    "Consent",
    "Group",
    "Membership",
    "Node",
    "Not",
    "Predicate",
    "parse_definition",
    "referenced_segments",
]

#: profile fields segments may use, with their kinds
FIELD_TYPES: dict[str, str] = {
    "given_name": "text",
    "family_name": "text",
    "full_name": "text",
    "email": "sealed",
    "phone": "sealed",
    "city": "text",
    "region": "text",
    "country": "text",
    "postal_code": "text",
    "gender": "text",
    "locale": "text",
    "occupation": "text",
    "education": "text",
    "income_band": "text",
    "marital_status": "text",
    "preferred_channel": "text",
    "preferred_payment_method": "text",
    "household_size": "number",
    "event_count": "number",
    "order_count": "number",
    "total_revenue_minor": "number",
    "quality_score": "number",
    "birth_date": "date",
    "created_at": "date",
    "first_seen_at": "date",
    "last_seen_at": "date",
    "first_order_at": "date",
    "last_order_at": "date",
}
SCORE_TYPES: dict[str, str] = {
    "rfm_segment": "text",
    "rfm_r": "number",
    "rfm_f": "number",
    "rfm_m": "number",
    "rfm_recency_days": "number",
    "rfm_frequency": "number",
    "rfm_monetary_minor": "number",
    "clv_value": "number",
    "clv_probability_alive": "number",
    "clv_expected_purchases": "number",
    "churn_score": "number",
}
IDENTITY_KINDS = ("email", "phone", "document", "user_id", "anonymous_id")
_ATTRIBUTE_KINDS = {
    "string": "text",
    "enum": "text",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
}

OPS: dict[str, frozenset[str]] = {
    "text": frozenset(
        {"eq", "ne", "in", "not_in", "contains", "starts_with", "is_empty", "not_empty"}
    ),
    "number": frozenset(
        {"eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "is_empty", "not_empty"}
    ),
    "date": frozenset(
        {
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "between",
            "within_days",
            "older_than_days",
            "is_empty",
            "not_empty",
        }
    ),
    "boolean": frozenset({"eq", "is_empty", "not_empty"}),
    "presence": frozenset({"is_empty", "not_empty"}),
    # Stored encrypted: only whether there is a value (match a value with identity look-ups).
    "sealed": frozenset({"is_empty", "not_empty"}),
}
_NO_VALUE = frozenset({"is_empty", "not_empty"})
MEASURES = {
    "events": ("count", "first", "last"),
    "orders": ("count", "sum", "avg", "first", "last"),
}
MAX_DEPTH = 12
MAX_NODES = 200


@dataclass(frozen=True, slots=True)
class Predicate:
    """A condition on one value of the profile (field, attribute, identity or score)."""

    source: str  # field, attribute, identity, score
    name: str
    kind: str  # text, number, date, boolean, presence
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A count, sum or average over the person's events or orders, compared with a number; or
    the time of the first or last of them, compared as a date."""

    over: str  # events, orders
    measure: str  # count, sum, avg, first, last
    name: str | None  # event name
    within_days: int | None
    op: str
    value: Any
    #: events: properties that must equal these values (type included)
    properties: tuple[tuple[str, str | int | float | bool], ...] = ()
    #: orders: only those with an item of this product (product id or SKU) / category
    product: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    purpose: str  # the latest word of the person about it is a grant


@dataclass(frozen=True, slots=True)
class Membership:
    segment: str  # key of a saved segment; its last materialised members


@dataclass(frozen=True, slots=True)
class Group:
    mode: str  # all, any
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Predicate | Aggregate | Consent | Membership | Group | Not


@dataclass(frozen=True, slots=True)
class _Known:
    attributes: Mapping[str, str]
    purposes: frozenset[str]
    segments: frozenset[str]


def parse_definition(
    definition: Any,
    *,
    attributes: Mapping[str, str],
    purposes: frozenset[str],
    segments: frozenset[str] = frozenset(),
) -> Node:
    """Check a rule tree; ``attributes`` maps declared custom attributes to their types,
    ``purposes`` and ``segments`` are the keys conditions may name."""
    errors: list[FieldError] = []
    count = [0]
    known = _Known(attributes, purposes, segments)
    node = _node(definition, "definition", 0, known, errors, count)
    if errors or node is None:
        raise ValidationFailed("The segment definition is invalid.", errors=errors)
    return node


def referenced_segments(tree: Any) -> set[str]:
    """The saved segments a (checked) JSON tree names, for dependency order and cycle checks."""
    if not isinstance(tree, dict):
        return set()
    if "segment" in tree and len(tree) == 1:
        return {str(tree["segment"])}
    if "not" in tree:
        return referenced_segments(tree["not"])
    for mode in ("all", "any"):
        if isinstance(tree.get(mode), list):
            return set().union(*(referenced_segments(child) for child in tree[mode]))
    return set()


def _node(
    raw: Any,
    path: str,
    depth: int,
    known: _Known,
    errors: list[FieldError],
    count: list[int],
) -> Node | None:
    count[0] += 1
    if count[0] > MAX_NODES:
        errors.append(FieldError(path, f"a definition has at most {MAX_NODES} nodes", "too_big"))
        return None
    if depth > MAX_DEPTH:
        errors.append(FieldError(path, f"nesting is limited to {MAX_DEPTH}", "too_deep"))
        return None
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "must be an object", "type"))
        return None
    for mode in ("all", "any"):
        if mode in raw:
            children = raw[mode]
            if set(raw) != {mode} or not isinstance(children, list) or not children:
                errors.append(FieldError(path, f"{mode!r} takes a non-empty list and nothing else"))
                return None
            parsed = [
                _node(child, f"{path}.{mode}[{i}]", depth + 1, known, errors, count)
                for i, child in enumerate(children)
            ]
            if any(p is None for p in parsed):
                return None
            return Group(mode, tuple(p for p in parsed if p is not None))
    if "not" in raw:
        if set(raw) != {"not"}:
            errors.append(FieldError(path, "'not' takes one node and nothing else"))
            return None
        child = _node(raw["not"], f"{path}.not", depth + 1, known, errors, count)
        return None if child is None else Not(child)
    if "consent" in raw:
        purpose = raw["consent"]
        if set(raw) != {"consent"} or purpose not in known.purposes:
            errors.append(FieldError(f"{path}.consent", "names a registered purpose", "unknown"))
            return None
        return Consent(str(purpose))
    if "segment" in raw:
        key = raw["segment"]
        if set(raw) != {"segment"} or key not in known.segments:
            errors.append(FieldError(f"{path}.segment", "names a saved segment", "unknown"))
            return None
        return Membership(str(key))
    if "events" in raw or "orders" in raw:
        return _aggregate(raw, path, errors)
    return _predicate(raw, path, known.attributes, errors)


def _predicate(
    raw: dict[str, Any], path: str, attributes: Mapping[str, str], errors: list[FieldError]
) -> Predicate | None:
    unknown = set(raw) - {"field", "op", "value"}
    if unknown:
        errors.append(FieldError(path, "unknown keys: " + ", ".join(sorted(unknown)), "unknown"))
        return None
    field = raw.get("field")
    if not isinstance(field, str):
        errors.append(FieldError(f"{path}.field", "is required", "required"))
        return None
    source, _, rest = field.partition(".")
    if field in FIELD_TYPES:
        source, name, kind = "field", field, FIELD_TYPES[field]
    elif source == "attributes" and attributes.get(rest) in _ATTRIBUTE_KINDS:
        source, name, kind = "attribute", rest, _ATTRIBUTE_KINDS[attributes[rest]]
    elif source == "identity" and rest in IDENTITY_KINDS:
        name, kind = rest, "presence"
    elif source == "score" and rest in SCORE_TYPES:
        name, kind = rest, SCORE_TYPES[rest]
    else:
        errors.append(FieldError(f"{path}.field", f"{field!r} is not a field segments can use"))
        return None
    op = raw.get("op")
    if op not in OPS[kind]:
        errors.append(
            FieldError(f"{path}.op", "for this field one of " + ", ".join(sorted(OPS[kind])))
        )
        return None
    value = raw.get("value")
    checked = _value(kind, op, value, f"{path}.value", errors)
    if checked is _INVALID:
        return None
    return Predicate(source, name, kind, op, checked)


_INVALID = object()


def _value(kind: str, op: str, value: Any, path: str, errors: list[FieldError]) -> Any:
    if op in _NO_VALUE:
        if value is not None:
            errors.append(FieldError(path, f"{op} takes no value"))
            return _INVALID
        return None
    if op in ("within_days", "older_than_days"):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 36_500:
            errors.append(FieldError(path, "a whole number of days, 0 to 36500"))
            return _INVALID
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 1000:
            errors.append(FieldError(path, "a list of 1 to 1000 values"))
            return _INVALID
        items = [_scalar(kind, item, f"{path}[{i}]", errors) for i, item in enumerate(value)]
        return _INVALID if any(item is _INVALID for item in items) else tuple(items)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            errors.append(FieldError(path, "a list of two values: [low, high]"))
            return _INVALID
        low, high = (_scalar(kind, item, f"{path}[{i}]", errors) for i, item in enumerate(value))
        return _INVALID if _INVALID in (low, high) else (low, high)
    return _scalar(kind, value, path, errors)


def _scalar(kind: str, value: Any, path: str, errors: list[FieldError]) -> Any:
    if kind == "text" and isinstance(value, str) and len(value) <= 500:
        return value
    if (
        kind == "number"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) < 2**53
    ):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    expected = {
        "text": "text",
        "number": "a number",
        "boolean": "true or false",
        "date": "a date (YYYY-MM-DD)",
    }.get(kind, "a value")
    errors.append(FieldError(path, f"must be {expected}", "type"))
    return _INVALID


def _aggregate(raw: dict[str, Any], path: str, errors: list[FieldError]) -> Aggregate | None:
    over = "events" if "events" in raw else "orders"
    unknown = set(raw) - {over, "op", "value"}
    if unknown:
        errors.append(FieldError(path, "unknown keys: " + ", ".join(sorted(unknown)), "unknown"))
        return None
    spec = raw[over]
    if not isinstance(spec, dict):
        errors.append(FieldError(f"{path}.{over}", "must be an object"))
        return None
    allowed = (
        {"measure", "name", "within_days", "properties"}
        if over == "events"
        else {"measure", "within_days", "product", "category"}
    )
    if set(spec) - allowed:
        errors.append(FieldError(f"{path}.{over}", "takes only " + ", ".join(sorted(allowed))))
        return None
    measure = spec.get("measure", "count")
    measures = MEASURES[over]
    if measure not in measures:
        errors.append(FieldError(f"{path}.{over}.measure", "one of " + ", ".join(measures)))
        return None
    texts: dict[str, str | None] = {}
    for key in ("name", "product", "category"):
        text = spec.get(key)
        if text is not None and (not isinstance(text, str) or not 0 < len(text) <= 200):
            errors.append(FieldError(f"{path}.{over}.{key}", "text of 1 to 200 characters"))
            return None
        texts[key] = text
    within = spec.get("within_days")
    if within is not None and (
        not isinstance(within, int) or isinstance(within, bool) or not 0 < within <= 36_500
    ):
        errors.append(FieldError(f"{path}.{over}.within_days", "a whole number of days"))
        return None
    properties = _properties(spec.get("properties"), f"{path}.{over}.properties", errors)
    if properties is None:
        return None
    op = raw.get("op")
    if measure in ("first", "last"):  # the time of the first / last one: a date condition
        ops = sorted(OPS["date"] - _NO_VALUE)
        if op not in ops:
            errors.append(FieldError(f"{path}.op", "one of " + ", ".join(ops)))
            return None
        value = _value("date", op, raw.get("value"), f"{path}.value", errors)
    else:
        if op not in ("eq", "ne", "lt", "lte", "gt", "gte"):
            errors.append(FieldError(f"{path}.op", "one of eq, ne, lt, lte, gt, gte"))
            return None
        value = _scalar("number", raw.get("value"), f"{path}.value", errors)
    if value is _INVALID:
        return None
    return Aggregate(
        over,
        measure,
        texts["name"],
        within,
        op,
        value,
        properties=properties,
        product=texts["product"],
        category=texts["category"],
    )


_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")


def _properties(
    raw: Any, path: str, errors: list[FieldError]
) -> tuple[tuple[str, str | int | float | bool], ...] | None:
    """Event property filters: {key: value}, each value text, a number or true/false."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not 0 < len(raw) <= 10:
        errors.append(FieldError(path, "an object of 1 to 10 property: value pairs"))
        return None
    pairs: list[tuple[str, str | int | float | bool]] = []
    for key, value in raw.items():
        if not _PROPERTY_KEY.match(key):
            errors.append(FieldError(f"{path}.{key}", "a property name (letters, digits, _ . -)"))
            return None
        if not (
            isinstance(value, bool)
            or (isinstance(value, str) and len(value) <= 500)
            or (isinstance(value, int | float) and abs(value) < 2**53)
        ):
            errors.append(FieldError(f"{path}.{key}", "text, a number or true/false"))
            return None
        pairs.append((key, value))
    return tuple(sorted(pairs))
