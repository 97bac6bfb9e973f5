"""Ingest tracking messages: validate, stitch identities, update profiles, store events, turn
orders into transactions and consent into ledger entries — all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clientela.attributes.service import registry as attribute_registry
from clientela.audit import service as audit
from clientela.customers.observations import apply_observation
from clientela.customers.service import identity_row, validation_context
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import InvalidValue, ValidationFailed
from clientela.domain.fields import (
    IDENTITY_FIELDS,
    ValidationContext,
    validate_changes,
)
from clientela.domain.identity import DEFAULT_BLOCKLIST, IdentityKey, normalise_identity
from clientela.domain.ids import new_id
from clientela.domain.money import to_minor_units
from clientela.domain.privacy import SALE_SHARING_PURPOSE
from clientela.domain.tracking import TrackingMessage, parse_message, parse_timestamp
from clientela.identity.stitching import Resolution, empty_profile, resolve
from clientela.ingest.traits import profile_changes_from_traits
from clientela.privacy.suppression import suppressed_keys, suppressed_message
from clientela.quality.service import refresh_quality, score_new_rows
from clientela.settings import Settings
from clientela.sources.keys import authenticate_write_key
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["IngestResult", "ingest_messages", "receive"]

MAX_MESSAGE_BYTES = 32 * 1024


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    #: (index in the batch, code, message) of messages not stored
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    #: (index, field, message) of traits kept on the event but not written to the profile
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    customers: set[str] = field(default_factory=set)


def receive(
    store: Store,
    write_key: str,
    messages: Sequence[Any],
    *,
    settings: Settings,
    sizes: Sequence[int],
    default_type: str | None,
    sent_at: Any,
    gpc: bool,
    request_context: Mapping[str, Any],
) -> IngestResult:
    """A call of the tracking API: check the write key, then ingest in one transaction, committed
    before the caller acknowledges anything."""
    received_at = utcnow()
    try:
        batch_sent_at = parse_timestamp(sent_at, field_name="sentAt") if sent_at else None
    except InvalidValue:
        batch_sent_at = None  # the messages' own timestamps stand uncorrected
    with store.unit_of_work() as uow:
        source = authenticate_write_key(uow, write_key)
        actor = Actor(
            kind="source",
            id=str(source["id"]),
            role="integration",
            scopes=frozenset({"ingest"}),
            request_id=request_context.get("request_id"),
            ip=request_context.get("ip"),
        )
        result = ingest_messages(
            uow,
            source,
            messages,
            actor=actor,
            settings=settings,
            received_at=received_at,
            default_type=default_type,
            batch_sent_at=batch_sent_at,
            sizes=sizes,
            gpc=gpc,
            request_context=request_context,
        )
        uow.commit()
    return result


def ingest_messages(
    uow: UnitOfWork,
    source: Mapping[str, Any],
    messages: Sequence[Any],
    *,
    actor: Actor,
    settings: Settings,
    received_at: datetime,
    default_type: str | None = None,
    batch_sent_at: datetime | None = None,
    sizes: Sequence[int] | None = None,
    gpc: bool = False,
    request_context: Mapping[str, Any] | None = None,
) -> IngestResult:
    result = IngestResult()
    parsed: list[tuple[int, TrackingMessage]] = []
    for index, raw in enumerate(messages):
        if sizes is not None and sizes[index] > MAX_MESSAGE_BYTES:
            result.rejected.append((index, "message_too_large", "a message is limited to 32 KB"))
            continue
        try:
            parsed.append(
                (
                    index,
                    parse_message(
                        raw,
                        default_type=default_type,
                        received_at=received_at,
                        batch_sent_at=batch_sent_at,
                    ),
                )
            )
        except InvalidValue as exc:
            result.rejected.append((index, exc.code, exc.message))
    source_id = str(source["id"])
    known = uow.events.known_message_ids(source_id, [m.message_id for _, m in parsed])
    registry = attribute_registry(uow)
    declared = frozenset(registry)
    context = validation_context(settings)
    purposes = uow.purposes.ids_by_key()
    events: list[dict[str, Any]] = []
    orders: list[tuple[int, TrackingMessage, str, str]] = []
    seen_in_batch: set[str] = set()
    # Profiles merged away during this batch: rows still to be written follow their survivor.
    redirect: dict[str, str] = {}

    def current(customer_id: str) -> str:
        while customer_id in redirect:
            customer_id = redirect[customer_id]
        return customer_id

    # Event-time order makes the outcome independent of arrival order within a batch.
    ordered: list[tuple[int, TrackingMessage, dict[str, Any], list[IdentityKey]]] = []
    for index, message in sorted(parsed, key=lambda p: (p[1].occurred_at, p[1].message_id)):
        if message.message_id in known or message.message_id in seen_in_batch:
            result.duplicates += 1
            continue
        seen_in_batch.add(message.message_id)
        changes, keys, warnings = _identify(message, registry, declared, context, settings)
        result.warnings.extend((index, name, text) for name, text in warnings)
        ordered.append((index, message, changes, keys))
    ordered = _without_suppressed(uow, ordered, result)
    newcomers = _create_newcomers(uow, ordered, source_id, settings)
    # Quality is about profile fields: only profiles whose fields or links changed are assessed
    # again (newcomers were scored as they were created).
    reassess: set[str] = set()
    for index, message, changes, keys in ordered:
        if index in newcomers:
            resolution = Resolution(newcomers[index], created=True)
        else:
            resolution = resolve(
                uow,
                keys,
                source_id=source_id,
                seen_at=message.occurred_at,
                actor=actor,
                reason="alias" if message.type == "alias" else "identity",
                conflict_limit=settings.identity_conflict_limit,
            )
        customer_id = resolution.customer_id
        for merged_id in resolution.merged:
            redirect[merged_id] = customer_id
        result.customers.add(customer_id)
        profile_changed = changes or resolution.merged or resolution.conflicts
        if profile_changed or resolution.blocked or (resolution.created and index not in newcomers):
            reassess.add(customer_id)
        if resolution.conflicts:
            result.warnings.append(
                (
                    index,
                    "userId",
                    "identities of another account were not linked: "
                    + ", ".join(sorted(set(resolution.conflicts))),
                )
            )
        if changes:
            _apply_traits(uow, customer_id, changes, message, source_id, actor)
        events.append(_event_row(message, customer_id, source_id, received_at, request_context))
        if message.type == "track":
            orders.append((index, message, customer_id, events[-1]["id"]))
        _consent(uow, message, customer_id, source_id, purposes, gpc, request_context)
        result.accepted += 1
    for event in events:
        event["customer_id"] = current(event["customer_id"])
    uow.events.insert_many(events)
    for index, message, customer_id, event_id in orders:  # after their events exist
        _commerce(uow, message, current(customer_id), source_id, event_id, settings, index, result)
    result.customers = {current(customer_id) for customer_id in result.customers}
    if result.customers:
        uow.customers.refresh_activity(sorted(result.customers))
        refresh_quality(uow, {current(c) for c in reassess}, settings=settings)
        audit.record(uow, actor, "ingest.write", sorted(result.customers), ["events"])
    return result


def _without_suppressed(
    uow: UnitOfWork,
    ordered: list[tuple[int, TrackingMessage, dict[str, Any], list[IdentityKey]]],
    result: IngestResult,
) -> list[tuple[int, TrackingMessage, dict[str, Any], list[IdentityKey]]]:
    """Messages naming a person erased at their request are reported, never stored."""
    suppressed = suppressed_keys(uow, [key for *_, keys in ordered for key in keys])
    if not suppressed:
        return ordered
    kept = []
    for item in ordered:
        hit = next((key for key in item[3] if key in suppressed), None)
        if hit is None:
            kept.append(item)
        else:
            reason = f"{hit.kind} {suppressed_message(suppressed[hit])}"
            result.rejected.append((item[0], "suppressed", reason))
    return kept


def _create_newcomers(
    uow: UnitOfWork,
    ordered: Sequence[tuple[int, TrackingMessage, dict[str, Any], list[IdentityKey]]],
    source_id: str,
    settings: Settings,
) -> dict[int, str]:
    """Profiles for the messages of people nobody knows, created for the whole batch at once.

    A message qualifies when none of its identities is known, blocked or used by another message
    of the batch: it cannot link or merge anyone, so creating its profile up front is what
    ``resolve`` would do, in two statements instead of two per message.
    """
    uses: dict[tuple[str, str], int] = {}
    for _, _, _, keys in ordered:
        for key in set(keys):
            uses[(key.kind, key.value)] = uses.get((key.kind, key.value), 0) + 1
    owners = uow.identities.owners_of(uses)
    flagged = uow.identities.blocked(list(uses))
    candidates = [
        (index, message, keys)
        for index, message, _, keys in ordered
        if message.type != "alias"
        and keys
        and all(
            uses[(k.kind, k.value)] == 1
            and (k.kind, k.value) not in owners
            and (k.kind, k.value) not in flagged
            and str(k) not in DEFAULT_BLOCKLIST
            for k in keys
        )
    ]
    if not candidates:
        return {}
    now = utcnow()
    created: dict[int, str] = {}
    profiles: list[dict[str, Any]] = []
    identity_rows: list[dict[str, Any]] = []
    for index, message, keys in candidates:
        customer_id = new_id()
        created[index] = customer_id
        profiles.append(empty_profile(customer_id, now))
        identity_rows.extend(
            identity_row(customer_id, key, source_id, message.occurred_at)
            for key in dict.fromkeys(keys)
        )
    # Every newcomer's profile is empty and created now: one assessment scores them all.
    scored = empty_profile("", now)
    score_new_rows(uow, [scored], settings=settings, now=now)
    for profile in profiles:
        profile["quality_score"], profile["quality"] = scored["quality_score"], scored["quality"]
    uow.customers.insert_many(profiles)
    uow.identities.insert_many(identity_rows)
    return created


def _identify(
    message: TrackingMessage,
    registry: Mapping[str, Any],
    declared: frozenset[str],
    context: ValidationContext,
    settings: Settings,
) -> tuple[dict[str, Any], list[IdentityKey], list[tuple[str, str]]]:
    """Profile changes (valid ones only) and identity keys of a message, with trait warnings."""
    keys: list[IdentityKey] = []
    warnings: list[tuple[str, str]] = []
    if message.user_id:
        keys.append(IdentityKey("user_id", message.user_id))
    if message.anonymous_id:
        keys.append(IdentityKey("anonymous_id", message.anonymous_id))
    if message.type == "alias" and message.previous_id:
        # previousId is whatever id the person had before: anonymous or an older user id.
        keys.append(IdentityKey("anonymous_id", message.previous_id))
        keys.append(IdentityKey("user_id", message.previous_id))
    changes: dict[str, Any] = {}
    if message.type == "identify":
        wanted = profile_changes_from_traits(message.traits, declared)
        changes = _valid_part(wanted, registry, context, warnings)
        for name, kind in IDENTITY_FIELDS.items():
            if changes.get(name):
                keys.append(IdentityKey(kind, changes[name]))
    elif message.context.get("traits") and isinstance(message.context["traits"], dict):
        # Other calls may carry the person's e-mail in context.traits: an identity, not a change.
        email = message.context["traits"].get("email")
        if isinstance(email, str):
            try:
                keys.append(normalise_identity("email", email, region=settings.default_region))
            except InvalidValue:
                warnings.append(("context.traits.email", "not a valid e-mail address"))
    return changes, keys, warnings


def _valid_part(
    wanted: dict[str, Any],
    registry: Mapping[str, Any],
    context: ValidationContext,
    warnings: list[tuple[str, str]],
) -> dict[str, Any]:
    """Validate traits as the REST API would; drop (and report) the ones that fail."""
    try:
        changes = validate_changes(wanted, context=context, registry=registry)
    except ValidationFailed as exc:
        bad = {error.field.split(".")[0] for error in exc.errors}
        bad_attributes = {
            error.field.split(".", 1)[1]
            for error in exc.errors
            if error.field.startswith("attributes.")
        }
        warnings.extend((f"traits.{error.field}", error.message) for error in exc.errors)
        kept = {k: v for k, v in wanted.items() if k not in bad or k == "attributes"}
        if "attributes" in kept:
            kept["attributes"] = {
                k: v for k, v in kept["attributes"].items() if k not in bad_attributes
            }
        try:
            changes = validate_changes(kept, context=context, registry=registry)
        except ValidationFailed:
            return {}
    merged = dict(changes.fields)
    if changes.attributes:
        merged["attributes"] = changes.attributes
    return merged


def _apply_traits(
    uow: UnitOfWork,
    customer_id: str,
    changes: dict[str, Any],
    message: TrackingMessage,
    source_id: str,
    actor: Actor,
) -> None:
    """Last write wins by event time (see ``apply_observation``)."""
    apply_observation(
        uow,
        customer_id,
        changes,
        stamp=[message.occurred_at.isoformat(), message.message_id],
        observed_at=message.occurred_at,
        source_id=source_id,
        actor=actor,
    )


def _event_row(
    message: TrackingMessage,
    customer_id: str,
    source_id: str,
    received_at: datetime,
    request_context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    known = {
        "type",
        "messageId",
        "userId",
        "anonymousId",
        "event",
        "name",
        "properties",
        "traits",
        "context",
        "timestamp",
        "sentAt",
        "originalTimestamp",
        "writeKey",
    }
    context = dict(message.context)
    extra = {k: v for k, v in message.raw.items() if k not in known}
    if extra:
        context["_extra"] = extra  # unknown fields are kept, not dropped
    if request_context:
        context.setdefault("ip", request_context.get("ip"))
        context.setdefault("userAgent", request_context.get("user_agent"))
    properties = message.traits if message.type in ("identify", "group") else message.properties
    if message.type == "group":
        properties = {"groupId": message.group_id, **properties}
    if message.type == "alias":
        properties = {"previousId": message.previous_id}
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "source_id": source_id,
        "message_id": message.message_id,
        "type": message.type,
        "name": message.name,
        "anonymous_id": message.anonymous_id,
        "user_id": message.user_id,
        "properties": properties,
        "context": context,
        "occurred_at": message.occurred_at,
        "received_at": received_at,
        "sent_at": message.sent_at,
    }


def _commerce(
    uow: UnitOfWork,
    message: TrackingMessage,
    customer_id: str,
    source_id: str,
    event_id: str,
    settings: Settings,
    index: int,
    result: IngestResult,
) -> None:
    """Segment e-commerce spec: Order Completed becomes a transaction, Order Refunded updates it."""
    properties = message.properties
    if message.name not in ("Order Completed", "Order Refunded"):
        return
    order_id = properties.get("order_id") or properties.get("orderId")
    if not isinstance(order_id, str | int) or isinstance(order_id, bool) or not str(order_id):
        result.warnings.append((index, "properties.order_id", "an order needs order_id"))
        return
    order_id = str(order_id)[:200]
    existing = uow.transactions.get_by_order(source_id, order_id)
    now = utcnow()
    try:
        if message.name == "Order Completed":
            if existing is not None:
                return
            amount = properties.get("total", properties.get("revenue"))
            currency = str(properties.get("currency") or settings.currency).upper()[:3]
            uow.transactions.insert_many(
                [
                    {
                        "id": new_id(),
                        "customer_id": customer_id,
                        "source_id": source_id,
                        "order_id": order_id,
                        "status": "completed",
                        "occurred_at": message.occurred_at,
                        "amount_minor": to_minor_units(
                            amount if amount is not None else 0, settings.currency_exponent
                        ),
                        "refunded_minor": 0,
                        "currency": currency,
                        "items": properties.get("products")
                        if isinstance(properties.get("products"), list)
                        else [],
                        "channel": _short(properties.get("channel")),
                        "payment_method": _short(properties.get("payment_method")),
                        "event_id": event_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                ]
            )
        elif existing is not None:
            refunded = properties.get("total", properties.get("revenue"))
            refunded_minor = (
                existing["amount_minor"]
                if refunded is None
                else min(
                    existing["amount_minor"], to_minor_units(refunded, settings.currency_exponent)
                )
            )
            status = (
                "refunded" if refunded_minor >= existing["amount_minor"] else "partially_refunded"
            )
            uow.transactions.update(
                existing["id"],
                {"status": status, "refunded_minor": refunded_minor, "updated_at": now},
            )
        else:
            result.warnings.append((index, "properties.order_id", "no such order to refund"))
    except InvalidValue as exc:
        result.warnings.append((index, "properties.total", exc.message))


def _short(value: Any) -> str | None:
    return value[:20] if isinstance(value, str) and value else None


def _consent(
    uow: UnitOfWork,
    message: TrackingMessage,
    customer_id: str,
    source_id: str,
    purposes: Mapping[str, str],
    gpc: bool,
    request_context: Mapping[str, Any] | None,
) -> None:
    """``context.consent.categoryPreferences`` and the Sec-GPC header, into the consent ledger."""
    evidence_base = {
        "message_id": message.message_id,
        "ip": (request_context or {}).get("ip"),
        "user_agent": (request_context or {}).get("user_agent"),
    }
    rows: list[dict[str, Any]] = []
    consent = message.context.get("consent")
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if isinstance(preferences, dict):
        for category, allowed in preferences.items():
            if category in purposes and isinstance(allowed, bool):
                rows.append(
                    _consent_row(
                        customer_id,
                        purposes[category],
                        "grant" if allowed else "deny",
                        "opt_in",
                        {**evidence_base, "mechanism": "categoryPreferences"},
                        source_id,
                        message.occurred_at,
                    )
                )
    if gpc and SALE_SHARING_PURPOSE in purposes:
        rows.append(
            _consent_row(
                customer_id,
                purposes[SALE_SHARING_PURPOSE],
                "deny",
                "opt_out",
                {**evidence_base, "gpc": True},
                source_id,
                message.occurred_at,
            )
        )
    uow.consents.append_many(rows)


def _consent_row(
    customer_id: str,
    purpose_id: str,
    action: str,
    mechanism: str,
    evidence: dict[str, Any],
    source_id: str,
    occurred_at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "purpose_id": purpose_id,
        "action": action,
        "mechanism": mechanism,
        "lawful_basis": "consent",
        "evidence": evidence,
        "source_id": source_id,
        "occurred_at": occurred_at,
        "recorded_at": utcnow(),
    }
