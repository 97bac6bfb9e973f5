"""The access and portability bundle: everything about a person, as JSON and CSV in one zip.

``AccessBundle`` is the published format (docs/privacy/access-bundle.schema.json is generated
from it); ``import_bundle`` reads it back, so a person can take their data to another
Clientela store (GDPR Art. 20, LGPD Art. 18 V).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clientela.audit import service as audit
from clientela.customers.service import create_customers
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.domain.fields import CORE_FIELDS, WRITABLE_FIELDS
from clientela.domain.ids import new_id
from clientela.domain.privacy import current_consents
from clientela.quality.service import refresh_quality
from clientela.settings import Settings
from clientela.sources import service as sources
from clientela.storage.uow import UnitOfWork

__all__ = [
    "FORMAT",
    "AccessBundle",
    "build_bundle",
    "bundle_schema",
    "import_bundle",
    "read_bundle",
    "write_bundle",
]

FORMAT: Literal["clientela.access-bundle"] = "clientela.access-bundle"
VERSION: Literal[1] = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BundleIdentity(_Model):
    kind: str
    value: str
    source: str | None = None
    verified: bool = False
    first_seen_at: datetime
    last_seen_at: datetime


class BundleProvenance(_Model):
    source: str | None = None
    actor: str
    fields: dict[str, Any] = Field(description="The values this source said, as it said them")
    observed_at: datetime


class BundleEvent(_Model):
    message_id: str
    source: str
    type: str
    name: str | None = None
    anonymous_id: str | None = None
    user_id: str | None = None
    properties: dict[str, Any]
    context: dict[str, Any]
    occurred_at: datetime
    received_at: datetime


class BundleTransaction(_Model):
    order_id: str
    source: str
    status: str
    occurred_at: datetime
    amount_minor: int
    refunded_minor: int
    currency: str
    items: list[Any]
    channel: str | None = None
    payment_method: str | None = None


class BundleConsent(_Model):
    purpose: str
    action: Literal["grant", "deny", "withdraw"]
    mechanism: str
    lawful_basis: str
    evidence: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime


class BundleMerge(_Model):
    survivor_id: str
    merged_id: str
    reason: str
    created_at: datetime
    undone_at: datetime | None = None


class BundleRecipient(_Model):
    purpose: str
    lawful_basis: str
    recipients: list[str]
    international_transfers: list[Any]
    consent: str | None = Field(None, description="The person's current word, if they gave one")


class BundleAccess(_Model):
    occurred_at: datetime
    actor: str
    action: str
    fields: list[str]
    purpose: str | None = None


class BundleRequest(_Model):
    kind: str
    status: str
    jurisdiction: str
    received_at: datetime
    closed_at: datetime | None = None


class BundleSegment(_Model):
    segment: str
    entered_at: datetime
    exited_at: datetime | None = None


class AccessBundle(_Model):
    """Everything Clientela holds about one person."""

    format: Literal["clientela.access-bundle"] = FORMAT
    version: Literal[1] = VERSION
    generated_at: datetime
    customer_id: str
    merged_profile_ids: list[str] = Field(description="Profiles merged into this one")
    profile: dict[str, Any] = Field(description="Profile fields, derived summaries included")
    attributes: dict[str, Any] = Field(description="Declared custom attributes")
    provenance: list[BundleProvenance]
    identities: list[BundleIdentity]
    events: list[BundleEvent]
    transactions: list[BundleTransaction]
    consents: list[BundleConsent]
    segments: list[BundleSegment]
    merges: list[BundleMerge]
    recipients: list[BundleRecipient]
    accessed_by: list[BundleAccess] = Field(description="Who read or changed the data (audit log)")
    privacy_requests: list[BundleRequest]


def bundle_schema() -> dict[str, Any]:
    schema = AccessBundle.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://clientela.dev/schemas/access-bundle-v1.json"
    return schema


def build_bundle(uow: UnitOfWork, customer_id: str, *, actor: Actor) -> AccessBundle:
    """Gather the bundle of an active person (and of every profile merged into them)."""
    from clientela.customers.service import load_active

    customer = load_active(uow, customer_id)
    ids = uow.erasure.person_ids(str(customer["id"]))
    ledger = uow.consents.for_customers(ids)
    states = current_consents(ledger)
    source_names = {str(row["id"]): str(row["name"]) for row in sources.list_sources(uow)}
    profile = {
        key: customer[key]
        for key in CORE_FIELDS
        if key in customer and customer[key] not in (None, [], {})
    }
    bundle = AccessBundle(
        generated_at=utcnow(),
        customer_id=str(customer["id"]),
        merged_profile_ids=[i for i in ids if i != customer["id"]],
        profile=_jsonable(profile),
        attributes=_jsonable(customer["attributes"] or {}),
        provenance=[
            BundleProvenance(
                source=row.get("source"),
                actor=row["actor"],
                fields=_jsonable(row["fields"]),
                observed_at=row["observed_at"],
            )
            for row in uow.provenance.for_customers(ids)
        ],
        identities=[
            BundleIdentity(
                kind=row["kind"],
                value=row["value"],
                source=source_names.get(str(row["source_id"])),
                verified=bool(row["verified"]),
                first_seen_at=row["first_seen_at"],
                last_seen_at=row["last_seen_at"],
            )
            for i in ids
            for row in uow.identities.for_customer(i)
        ],
        events=[
            BundleEvent(**{k: row[k] for k in BundleEvent.model_fields})
            for row in uow.events.of_customers(ids)
        ],
        transactions=[
            BundleTransaction(**{k: row[k] for k in BundleTransaction.model_fields})
            for row in uow.transactions.of_customers(ids)
        ],
        consents=[
            BundleConsent(**{k: row[k] for k in BundleConsent.model_fields}) for row in ledger
        ],
        segments=[
            BundleSegment(
                segment=row["key"], entered_at=row["entered_at"], exited_at=row["exited_at"]
            )
            for i in ids
            for row in uow.segments.memberships_of(i)
        ],
        merges=[
            BundleMerge(**{k: row[k] for k in BundleMerge.model_fields})
            for i in ids
            for row in uow.merges.for_customer(i)
            if row["merged_id"] == i
        ],
        recipients=[
            BundleRecipient(
                purpose=row["key"],
                lawful_basis=row["lawful_basis"],
                recipients=list(row["recipients"] or []),
                international_transfers=list(row["international_transfers"] or []),
                consent=states[row["key"]].action if row["key"] in states else None,
            )
            for row in uow.purposes.list()
            if row["recipients"]
        ],
        accessed_by=[
            BundleAccess(
                occurred_at=row["occurred_at"],
                actor=row["actor"],
                action=row["action"],
                fields=list(row["fields"] or []),
                purpose=row["purpose"],
            )
            for row in uow.audit.for_customers(ids)
        ],
        privacy_requests=[
            BundleRequest(**{k: row[k] for k in BundleRequest.model_fields})
            for row in uow.privacy_requests.of_subject(ids)
        ],
    )
    audit.record(
        uow, actor, "privacy.access", [str(customer["id"])], sorted(profile), purpose="dsr"
    )
    return bundle


# --- files --------------------------------------------------------------------------------------

_CSV_SECTIONS = (
    "identities",
    "provenance",
    "events",
    "transactions",
    "consents",
    "segments",
    "merges",
    "recipients",
    "accessed_by",
    "privacy_requests",
)


def write_bundle(bundle: AccessBundle, path: Path) -> Path:
    """``bundle.json`` (the whole, machine-readable) plus one CSV per section, for people."""
    document = bundle.model_dump(mode="json")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bundle.json", json.dumps(document, ensure_ascii=False, indent=2))
        archive.writestr(
            "profile.csv",
            _csv(
                [{"field": k, "value": _cell(v)} for k, v in document["profile"].items()]
                + [
                    {"field": f"attributes.{k}", "value": _cell(v)}
                    for k, v in document["attributes"].items()
                ]
            ),
        )
        for section in _CSV_SECTIONS:
            archive.writestr(f"{section}.csv", _csv(document[section]))
        archive.writestr(
            "README.txt",
            "Everything Clientela holds about you. bundle.json is the complete, machine-"
            "readable copy (schema: access-bundle.schema.json); the CSV files show the same\n"
            "data as tables.\n",
        )
        archive.writestr("access-bundle.schema.json", json.dumps(bundle_schema(), indent=2))
    partial.replace(path)
    path.chmod(0o600)
    return path


def read_bundle(path: Path) -> AccessBundle:
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read("bundle.json")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ValidationFailed(
            f"{path.name} is not an access bundle: {exc}",
            errors=[FieldError("file", "must be a zip with bundle.json", "invalid_bundle")],
        ) from None
    try:
        return AccessBundle.model_validate_json(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            "The bundle does not follow the access-bundle format.",
            errors=[
                FieldError(".".join(str(p) for p in error["loc"]), error["msg"], "invalid_bundle")
                for error in exc.errors()[:50]
            ],
        ) from None


def import_bundle(
    uow: UnitOfWork, bundle: AccessBundle, *, actor: Actor, settings: Settings
) -> str:
    """Create the person of a bundle here: profile, identities, events, orders and consents."""
    record: dict[str, Any] = {
        key: value for key, value in bundle.profile.items() if key in WRITABLE_FIELDS
    }
    if bundle.attributes:
        record["attributes"] = dict(bundle.attributes)
    profile_keys = {
        ("email", record.get("email")),
        ("phone", record.get("phone")),
        ("document", record.get("document")),
    }
    record["identities"] = [
        {"kind": identity.kind, "value": identity.value}
        for identity in bundle.identities
        if (identity.kind, identity.value) not in profile_keys
    ]
    result = create_customers(
        uow, [record], actor=actor, settings=settings, source="import", all_or_nothing=True
    )
    customer_id = result.created[0]
    known_sources = {str(row["name"]): str(row["id"]) for row in sources.list_sources(uow)}
    fallback = known_sources["import"]
    now = utcnow()
    event_ids: dict[str, str] = {}
    event_rows = []
    for event in bundle.events:
        source_id = known_sources.get(event.source, fallback)
        if uow.events.known_message_ids(source_id, [event.message_id]):
            continue
        row = {**event.model_dump(exclude={"source"}), "id": new_id()}
        row.update(customer_id=customer_id, source_id=source_id, sent_at=None)
        event_ids[event.message_id] = row["id"]
        event_rows.append(row)
    uow.events.insert_many(event_rows)
    order_rows = []
    for order in bundle.transactions:
        source_id = known_sources.get(order.source, fallback)
        if uow.transactions.known_order_ids(source_id, [order.order_id]):
            continue
        row = {**order.model_dump(exclude={"source"}), "id": new_id()}
        row.update(
            customer_id=customer_id,
            source_id=source_id,
            event_id=None,
            created_at=now,
            updated_at=now,
        )
        order_rows.append(row)
    uow.transactions.insert_many(order_rows)
    purposes = uow.purposes.ids_by_key()
    missing = sorted({c.purpose for c in bundle.consents if c.purpose not in purposes})
    if missing:
        raise ValidationFailed(
            "The bundle's consents name purposes this store does not register.",
            errors=[FieldError("consents.purpose", f"unknown purpose {key}") for key in missing],
        )
    uow.consents.append_many(
        [
            {
                **consent.model_dump(exclude={"purpose"}),
                "id": new_id(),
                "customer_id": customer_id,
                "purpose_id": purposes[consent.purpose],
                "source_id": fallback,
            }
            for consent in bundle.consents
        ]
    )
    uow.customers.refresh_activity([customer_id])
    refresh_quality(uow, [customer_id], settings=settings)
    audit.record(
        uow, actor, "privacy.import_bundle", [customer_id], ["events", "transactions", "consent"]
    )
    return customer_id


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    return out.getvalue()
