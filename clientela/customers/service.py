"""Use cases of customer profiles. One function per use case, shared by API, CLI and imports.

Every function takes the caller's unit of work and never commits it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clientela.attributes.service import list_attributes
from clientela.attributes.service import registry as attribute_registry
from clientela.audit import service as audit
from clientela.customers.profile import (
    name_tokens,
    personal_fields_present,
    present_profile,
    provenance_values,
    stored_values,
)
from clientela.domain.actor import Actor, utcnow
from clientela.domain.attributes import AttributeDefinition
from clientela.domain.errors import (
    BadRequest,
    Conflict,
    FieldError,
    InvalidValue,
    MergedAway,
    NotFound,
    ValidationFailed,
)
from clientela.domain.fields import (
    IDENTITY_FIELDS,
    NAME_PARTS,
    ProfileChanges,
    ValidationContext,
    validate_changes,
)
from clientela.domain.identity import IdentityKey, normalise_identity
from clientela.domain.ids import is_uuid, new_id
from clientela.domain.values import search_key
from clientela.privacy.suppression import suppressed_keys, suppressed_message
from clientela.quality.service import refresh_quality, score_new_rows
from clientela.security.policy import UNMASKED_ROLES, mask_profile
from clientela.settings import Settings
from clientela.sources import service as sources
from clientela.storage.errors import DuplicateKey, StaleWrite
from clientela.storage.uow import UnitOfWork

__all__ = [
    "BulkResult",
    "CheckedRecord",
    "Page",
    "RowRejection",
    "check_records",
    "create_customer",
    "create_customers",
    "delete_customer",
    "get_customer",
    "list_customers",
    "lookup_customer",
    "owners_of_identity",
    "search_customers",
    "timeline",
    "update_customer",
]


@dataclass(frozen=True, slots=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RowRejection:
    index: int
    errors: tuple[FieldError, ...]
    status: int = 422


@dataclass(slots=True)
class BulkResult:
    created: list[str] = field(default_factory=list)
    rejected: list[RowRejection] = field(default_factory=list)


def validation_context(settings: Settings, today: date | None = None) -> ValidationContext:
    return ValidationContext(
        region=settings.default_region,
        today=today or utcnow().date(),
        check_deliverability=settings.check_email_deliverability,
    )


# --- create -----------------------------------------------------------------------------------


def create_customer(
    uow: UnitOfWork,
    data: Mapping[str, Any],
    *,
    actor: Actor,
    settings: Settings,
    source: str = "api",
) -> dict[str, Any]:
    """Create one profile; refuse it whole (422 or 409) when anything in it is wrong."""
    result = create_customers(
        uow, [data], actor=actor, settings=settings, source=source, all_or_nothing=True
    )
    return shown_to(uow, actor, _profile(uow, result.created[0], settings))


@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """A record after validation: its normalised changes and identities, or why it was refused."""

    changes: ProfileChanges | None
    keys: tuple[IdentityKey, ...] = ()
    errors: tuple[FieldError, ...] = ()


def check_records(
    records: Sequence[Mapping[str, Any]],
    context: ValidationContext,
    registry: Mapping[str, AttributeDefinition],
) -> list[CheckedRecord]:
    """Validate records without touching the store (so bulk paths can run it in other processes)."""
    checked: list[CheckedRecord] = []
    for record in records:
        try:
            changes, keys = _validate_new(record, context, registry)
        except ValidationFailed as exc:
            checked.append(CheckedRecord(None, errors=exc.errors))
            continue
        checked.append(CheckedRecord(changes, tuple(keys)))
    return checked


def create_customers(
    uow: UnitOfWork,
    records: Sequence[Mapping[str, Any]],
    *,
    actor: Actor,
    settings: Settings,
    source: str,
    all_or_nothing: bool = False,
    observed_at: datetime | None = None,
    registry: Mapping[str, AttributeDefinition] | None = None,
    checked: Sequence[CheckedRecord] | None = None,
) -> BulkResult:
    """Create many profiles with set-based inserts; invalid rows are reported, valid ones kept.

    ``checked`` is ``check_records(records, ...)`` done beforehand (bulk pipelines validate the
    next chunk in another process while this one is written).
    """
    if checked is None:
        registry = registry if registry is not None else attribute_registry(uow)
        checked = check_records(records, validation_context(settings), registry)
    result = BulkResult()
    accepted: list[tuple[int, ProfileChanges, tuple[IdentityKey, ...]]] = []
    first_row_with_key: dict[IdentityKey, int] = {}
    for index, item in enumerate(checked):
        if item.changes is None:
            result.rejected.append(RowRejection(index, item.errors))
            continue
        changes, keys = item.changes, item.keys
        repeated = [key for key in keys if key in first_row_with_key]
        if repeated:
            other = first_row_with_key[repeated[0]]
            result.rejected.append(
                RowRejection(
                    index,
                    (
                        FieldError(
                            repeated[0].kind,
                            f"same {repeated[0].kind} as row {other}",
                            "duplicate_in_batch",
                        ),
                    ),
                    409,
                )
            )
            continue
        for key in keys:
            first_row_with_key[key] = index
        accepted.append((index, changes, keys))

    owners = uow.identities.owners_of(
        (key.kind, key.value) for _, _, keys in accepted for key in keys
    )
    if owners:
        still: list[tuple[int, ProfileChanges, tuple[IdentityKey, ...]]] = []
        for index, changes, keys in accepted:
            taken = [key for key in keys if (key.kind, key.value) in owners]
            if taken:
                owner = owners[(taken[0].kind, taken[0].value)]
                result.rejected.append(
                    RowRejection(
                        index,
                        (
                            FieldError(
                                taken[0].kind,
                                f"already belongs to customer {owner}",
                                "identity_taken",
                            ),
                        ),
                        409,
                    )
                )
            else:
                still.append((index, changes, keys))
        accepted = still

    accepted = _without_suppressed(uow, accepted, result)
    if all_or_nothing and result.rejected:
        _raise_rejection(result.rejected[0], owners)

    now = utcnow()
    seen = observed_at or now
    source_id = sources.source_id(uow, source)
    customer_rows: list[dict[str, Any]] = []
    token_rows: list[dict[str, str]] = []
    identity_rows: list[dict[str, Any]] = []
    provenance_rows: list[dict[str, Any]] = []
    for _, changes, keys in accepted:
        customer_id = new_id()
        row = stored_values(changes, {})
        row.update(
            id=customer_id,
            status="active",
            created_at=now,
            updated_at=now,
            version=1,
        )
        row.setdefault("attributes", {})
        customer_rows.append(row)
        token_rows.extend({"token": t, "customer_id": customer_id} for t in name_tokens(row))
        identity_rows.extend(identity_row(customer_id, key, source_id, seen) for key in keys)
        provenance_rows.append(
            {
                "customer_id": customer_id,
                "source_id": source_id,
                "actor": actor.label,
                "fields": provenance_values(changes),
                "observed_at": seen,
                "recorded_at": now,
            }
        )
        result.created.append(customer_id)
    score_new_rows(uow, customer_rows, settings=settings, now=now)
    uow.customers.insert_many(customer_rows)
    uow.customers.insert_name_tokens(token_rows)
    try:
        uow.identities.insert_many(identity_rows)
    except DuplicateKey:
        raise Conflict(
            "Another request created one of these identities at the same time; retry."
        ) from None
    uow.provenance.insert_many(provenance_rows)
    audit.record(
        uow,
        actor,
        "customer.create",
        result.created,
        sorted({k for row in provenance_rows for k in row["fields"]}),
    )
    return result


def _without_suppressed(
    uow: UnitOfWork,
    accepted: list[tuple[int, ProfileChanges, tuple[IdentityKey, ...]]],
    result: BulkResult,
) -> list[tuple[int, ProfileChanges, tuple[IdentityKey, ...]]]:
    """Refuse, and report, rows naming a person erased at their request."""
    suppressed = suppressed_keys(uow, [key for _, _, keys in accepted for key in keys])
    if not suppressed:
        return accepted
    still = []
    for index, changes, keys in accepted:
        hit = next((key for key in keys if key in suppressed), None)
        if hit is None:
            still.append((index, changes, keys))
            continue
        error = FieldError(hit.kind, suppressed_message(suppressed[hit]), "suppressed")
        result.rejected.append(RowRejection(index, (error,), 409))
    return still


def _validate_new(
    record: Mapping[str, Any],
    context: ValidationContext,
    registry: Mapping[str, AttributeDefinition],
) -> tuple[ProfileChanges, list[IdentityKey]]:
    data = dict(record)
    raw_identities = data.pop("identities", None) or []
    errors: list[FieldError] = []
    try:
        changes = validate_changes(data, context=context, registry=registry)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        changes = ProfileChanges()
    keys = _identity_keys(changes)
    keys.extend(_explicit_identities(raw_identities, context.region, errors))
    if errors:
        raise ValidationFailed("Some fields are invalid.", errors=errors)
    if not changes.fields and not changes.attributes and not keys:
        raise ValidationFailed(
            "A customer needs at least one field or identity.",
            errors=[FieldError("body", "is empty", "empty")],
        )
    return changes, list(dict.fromkeys(keys))


def _identity_keys(changes: ProfileChanges) -> list[IdentityKey]:
    return [
        IdentityKey(kind, changes.fields[name])
        for name, kind in IDENTITY_FIELDS.items()
        if changes.fields.get(name)
    ]


def _explicit_identities(raw: Any, region: str, errors: list[FieldError]) -> list[IdentityKey]:
    if not isinstance(raw, list):
        errors.append(FieldError("identities", "must be a list of {kind, value}", "type"))
        return []
    keys: list[IdentityKey] = []
    for position, item in enumerate(raw):
        path = f"identities[{position}]"
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("kind"), str)
            or not isinstance(item.get("value"), str)
        ):
            errors.append(FieldError(path, "must be an object with text kind and value", "type"))
            continue
        try:
            keys.append(normalise_identity(item["kind"], item["value"], region=region))
        except InvalidValue as exc:
            errors.append(FieldError(path, exc.message, exc.code))
    return keys


def identity_row(
    customer_id: str, key: IdentityKey, source_id: str | None, seen: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "kind": key.kind,
        "value": key.value,
        "source_id": source_id,
        "verified": False,
        "first_seen_at": seen,
        "last_seen_at": seen,
    }


def _raise_rejection(rejection: RowRejection, owners: Mapping[tuple[str, str], str]) -> None:
    if rejection.errors and rejection.errors[0].code == "suppressed":
        raise Conflict(
            "This person was erased at their request and is on the suppression list.",
            errors=rejection.errors,
        )
    if rejection.status == 409:
        owner_ids = sorted(set(owners.values()))
        raise Conflict(
            "An identity of this customer already belongs to another customer.",
            errors=rejection.errors,
            extra={"existing_customer_ids": owner_ids},
        )
    raise ValidationFailed("Some fields are invalid.", errors=rejection.errors)


# --- read -------------------------------------------------------------------------------------


def load_active(uow: UnitOfWork, customer_id: str) -> dict[str, Any]:
    row = uow.customers.get(customer_id)
    if row is None or row["status"] == "erased":
        raise NotFound("No customer has this id.")
    if row["status"] == "merged":
        raise MergedAway(
            "This customer was merged into another one.",
            extra={"merged_into": survivor_of(uow, row)},
        )
    return row


def survivor_of(uow: UnitOfWork, row: Mapping[str, Any]) -> str:
    """The active profile a merged one lives on in (merges can chain)."""
    seen = {row["id"]}
    while row["status"] == "merged" and row["merged_into"] not in seen:
        seen.add(row["merged_into"])
        following = uow.customers.get(row["merged_into"])
        if following is None:
            break
        row = following
    return str(row["id"])


def _profile(uow: UnitOfWork, customer_id: str, settings: Settings) -> dict[str, Any]:
    row = load_active(uow, customer_id)
    return present_profile(
        row,
        identities=uow.identities.for_customer(customer_id),
        counts=uow.customers.activity_counts(customer_id),
        currency=settings.currency,
        currency_exponent=settings.currency_exponent,
    )


def shown_to(uow: UnitOfWork, actor: Actor, profile: dict[str, Any]) -> dict[str, Any]:
    """The profile as the actor's role may see it (``security/policy.py``)."""
    return shown_all(uow, actor, [profile])[0]


def shown_all(
    uow: UnitOfWork, actor: Actor, profiles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Many profiles masked for the actor's role, reading the attribute registry once."""
    if actor.role in UNMASKED_ROLES or not profiles:
        return profiles
    sensitivities = {d.key: str(d.sensitivity) for d in list_attributes(uow)}
    return [mask_profile(profile, actor.role, sensitivities) for profile in profiles]


def count_active(uow: UnitOfWork) -> int:
    return uow.customers.count(status="active")


def get_customer(
    uow: UnitOfWork, customer_id: str, *, actor: Actor, settings: Settings
) -> dict[str, Any]:
    profile = _profile(uow, customer_id, settings)
    audit.record(uow, actor, "customer.read", [customer_id], personal_fields_present(profile))
    return shown_to(uow, actor, profile)


def lookup_customer(
    uow: UnitOfWork, kind: str, value: str, *, actor: Actor, settings: Settings
) -> dict[str, Any]:
    """The profile that owns an identity (``email``, ``phone`` in any format, ``document``...)."""
    try:
        key = normalise_identity(kind, value, region=settings.default_region)
    except InvalidValue as exc:
        raise ValidationFailed(
            "The identity is not valid.", errors=[FieldError("value", exc.message, exc.code)]
        ) from None
    owner = uow.identities.owner_of(key.kind, key.value)
    if owner is None:
        raise NotFound(f"No customer has this {key.kind}.")
    profile = _profile(uow, owner, settings)
    audit.record(uow, actor, "customer.lookup", [owner], personal_fields_present(profile))
    return shown_to(uow, actor, profile)


_SUMMARY_FIELDS = ("id", "status", "full_name", "email", "phone", "city", "country", "created_at")


def search_customers(
    uow: UnitOfWork, query: str, *, actor: Actor, settings: Settings, limit: int = 20
) -> list[dict[str, Any]]:
    """Find people by name prefix, e-mail, phone (any common format) or CPF."""
    text = " ".join(query.split())
    if not text:
        raise ValidationFailed(
            "Type something to search for.", errors=[FieldError("q", "is empty", "empty")]
        )
    if len(text) > 200:
        raise ValidationFailed(
            "The search text is too long.",
            errors=[FieldError("q", "is longer than 200 characters", "too_long")],
        )
    ids = owners_of_identity(uow, text, region=settings.default_region)
    if not ids:
        prefixes = [token for token in search_key(text).split(" ") if token][:5]
        if prefixes:
            ids = uow.customers.ids_by_name_tokens(prefixes, limit=limit)
    rows = [row for row in uow.customers.get_many(ids[:limit]) if row["status"] == "active"]
    results = [{key: row[key] for key in _SUMMARY_FIELDS} for row in rows]
    audit.record(
        uow,
        actor,
        "customer.search",
        [row["id"] for row in rows],
        ["full_name", "email", "phone", "city", "country"],
    )
    return shown_all(uow, actor, results)


def owners_of_identity(uow: UnitOfWork, text: str, *, region: str) -> list[str]:
    """The people whose e-mail, phone (any common format) or CPF ``text`` is; empty when it
    is none of those or nobody has it."""
    ids: list[str] = []
    for kind in _identity_kinds_for(text):
        try:
            key = normalise_identity(kind, text, region=region)
        except InvalidValue:
            continue
        owner = uow.identities.owner_of(key.kind, key.value)
        if owner is not None and owner not in ids:
            ids.append(owner)
    return ids


def _identity_kinds_for(text: str) -> list[str]:
    if "@" in text:
        return ["email"]
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 8 and digits * 2 >= len(text.replace(" ", "")):
        return ["document", "phone"]
    return []


def list_customers(
    uow: UnitOfWork,
    *,
    actor: Actor,
    settings: Settings,
    limit: int,
    cursor: str | None = None,
    status: str | None = "active",
    country: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
) -> Page:
    after_id = decode_cursor(cursor) if cursor else None
    if after_id is not None and not is_uuid(after_id):
        raise BadRequest(
            "The cursor is not one this API gave out.",
            errors=[FieldError("cursor", "is not valid", "invalid_cursor")],
        )
    rows = uow.customers.list_page(
        after_id=after_id,
        limit=limit + 1,
        status=status,
        country=country,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    data = [
        present_profile(
            row, currency=settings.currency, currency_exponent=settings.currency_exponent
        )
        for row in rows
    ]
    audit.record(
        uow,
        actor,
        "customer.list",
        [row["id"] for row in rows],
        sorted({f for profile in data for f in personal_fields_present(profile)}),
    )
    data = shown_all(uow, actor, data)
    return Page(data, encode_cursor(rows[-1]["id"]) if more and rows else None)


def timeline(
    uow: UnitOfWork,
    customer_id: str,
    *,
    actor: Actor,
    settings: Settings,
    limit: int,
    cursor: str | None = None,
    kinds: Sequence[str] = ("event", "order"),
) -> Page:
    load_active(uow, customer_id)
    before = None
    if cursor:
        at, _, entry_id = decode_cursor(cursor).partition("|")
        try:
            before = (datetime.fromisoformat(at), entry_id)
        except ValueError:
            raise BadRequest(
                "The cursor is not one this API gave out.",
                errors=[FieldError("cursor", "is not valid", "invalid_cursor")],
            ) from None
    rows = uow.timeline.page(customer_id, before=before, limit=limit + 1, kinds=kinds)
    more = len(rows) > limit
    rows = rows[:limit]
    scale = 10**settings.currency_exponent
    data = [
        {
            "entry": row["entry"],
            "id": row["id"],
            "occurred_at": row["occurred_at"],
            "type": row["type"],
            "name": row["name"],
            "details": row["details"],
            "amount": None if row["amount_minor"] is None else row["amount_minor"] / scale,
            "currency": row["currency"],
            "status": row["status"],
        }
        for row in rows
    ]
    audit.record(uow, actor, "customer.timeline", [customer_id], ["events", "transactions"])
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(f"{last['occurred_at'].isoformat()}|{last['id']}")
    return Page(data, next_cursor)


# --- change -----------------------------------------------------------------------------------


def update_customer(
    uow: UnitOfWork,
    customer_id: str,
    data: Mapping[str, Any],
    *,
    actor: Actor,
    settings: Settings,
    expected_version: int | None = None,
    source: str = "api",
) -> dict[str, Any]:
    """Apply a partial change (``null`` clears a field); all of it or none of it."""
    row = load_active(uow, customer_id)
    if expected_version is not None and expected_version != row["version"]:
        raise Conflict(
            "The customer changed since you read it; read it again and retry.",
            extra={"current_version": row["version"]},
        )
    changes = validate_changes(
        data,
        context=validation_context(settings),
        registry=attribute_registry(uow),
        current=row,
    )
    if changes.is_empty():
        return shown_to(uow, actor, _profile(uow, customer_id, settings))
    now = utcnow()
    source_id = sources.source_id(uow, source)
    new_keys = _identity_keys(changes)
    owners = uow.identities.owners_of((key.kind, key.value) for key in new_keys)
    taken = [
        key for key in new_keys if owners.get((key.kind, key.value), customer_id) != customer_id
    ]
    if taken:
        raise Conflict(
            "An identity in this change already belongs to another customer.",
            errors=[
                FieldError(
                    _field_of(taken[0].kind),
                    f"already belongs to customer {owners[(taken[0].kind, taken[0].value)]}",
                    "identity_taken",
                )
            ],
            extra={"existing_customer_ids": sorted({owners[(k.kind, k.value)] for k in taken})},
        )
    fresh = [key for key in new_keys if (key.kind, key.value) not in owners]
    values = stored_values(changes, row["attributes"] or {})
    values["updated_at"] = now
    try:
        uow.customers.update(customer_id, values, expected_version=row["version"])
        uow.identities.insert_many([identity_row(customer_id, k, source_id, now) for k in fresh])
    except StaleWrite:
        raise Conflict("The customer changed while this change was applied; retry.") from None
    except DuplicateKey:
        raise Conflict(
            "Another request took one of these identities at the same time; retry."
        ) from None
    if any(key in changes.fields for key in (*NAME_PARTS, "full_name")):
        uow.customers.replace_name_tokens(customer_id, name_tokens({**row, **values}))
    said = provenance_values(changes)
    uow.provenance.insert_many(
        [
            {
                "customer_id": customer_id,
                "source_id": source_id,
                "actor": actor.label,
                "fields": said,
                "observed_at": now,
                "recorded_at": now,
            }
        ]
    )
    audit.record(uow, actor, "customer.update", [customer_id], list(said))
    refresh_quality(uow, [customer_id], settings=settings, now=now, rows=[{**row, **values}])
    return shown_to(uow, actor, _profile(uow, customer_id, settings))


def _field_of(kind: str) -> str:
    return {value: key for key, value in IDENTITY_FIELDS.items()}.get(kind, kind)


def delete_customer(uow: UnitOfWork, customer_id: str, *, actor: Actor, settings: Settings) -> None:
    """Delete a profile the way erasure does — every table, merged profiles included — but
    without suppressing its identifiers (an operator's deletion, not the person's request)."""
    from clientela.privacy.erasure import erase_person

    load_active(uow, customer_id)
    erase_person(
        uow,
        customer_id,
        actor=actor,
        settings=settings,
        legal_basis="deleted by an operator",
        suppress_identifiers=False,
    )


# --- cursors ----------------------------------------------------------------------------------


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        decoded = ""
    if not decoded:
        raise BadRequest(
            "The cursor is not one this API gave out.",
            errors=[FieldError("cursor", "is not valid", "invalid_cursor")],
        )
    return decoded
