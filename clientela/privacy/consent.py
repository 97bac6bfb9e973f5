"""The consent ledger and eligibility: the one check every use of personal data goes through.

Events are appended, never changed; the current state per purpose is derived from them. A
withdrawal is one call, like a grant, and counts from the next check on (no cache).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import ErrorCollector, NotFound
from clientela.domain.ids import new_id
from clientela.domain.privacy import (
    CONSENT_ACTIONS,
    MECHANISMS,
    SALE_SHARING_PURPOSE,
    ConsentState,
    Eligibility,
    Restriction,
    current_consents,
    decide,
    is_minor,
)
from clientela.settings import Settings
from clientela.sources import service as sources
from clientela.storage.uow import UnitOfWork

__all__ = [
    "EVIDENCE_KEPT_AFTER_ERASURE",
    "AudienceCheck",
    "consent_state",
    "eligibility",
    "eligible",
    "record_consent",
    "record_gpc",
]

#: what of the evidence stays once the person is erased: proof of the notice, not of the person
EVIDENCE_KEPT_AFTER_ERASURE = ("notice_version", "notice_hash", "form", "gpc")
_EVIDENCE_KEYS = (
    "notice_version",
    "notice_text",
    "notice_hash",
    "form",
    "ip",
    "user_agent",
    "guardian",
    "gpc",
)


@dataclass(slots=True)
class AudienceCheck:
    """Eligibility of many people for one purpose: who may be used, and why the rest may not."""

    allowed: list[str] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)


def record_consent(
    uow: UnitOfWork,
    customer_id: str,
    purpose_key: str,
    action: str,
    *,
    actor: Actor,
    settings: Settings,
    mechanism: str = "opt_in",
    evidence: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    source: str = "api",
) -> dict[str, Any]:
    """Append one grant, denial or withdrawal, with its evidence."""
    purpose = uow.purposes.get_by_key(purpose_key)
    customer = _active(uow, customer_id)
    errors = ErrorCollector()
    if purpose is None:
        errors.add("purpose", "is not a registered purpose", "unknown_purpose")
    if action not in CONSENT_ACTIONS:
        errors.add("action", "must be one of " + ", ".join(CONSENT_ACTIONS), "invalid_choice")
    if mechanism not in MECHANISMS:
        errors.add("mechanism", "must be one of " + ", ".join(MECHANISMS), "invalid_choice")
    kept = _evidence(evidence or {}, errors)
    now = utcnow()
    when = occurred_at or now
    if when > now:
        errors.add("occurred_at", "is in the future", "future")
    if (
        action == "grant"
        and is_minor(customer["birth_date"], when.date(), settings.default_jurisdiction)
        and not kept.get("guardian")
    ):
        errors.add(
            "evidence.guardian",
            "is required: the person is a minor, so a parent or guardian must consent "
            "(LGPD Art. 14, GDPR Art. 8)",
            "guardian_required",
        )
    errors.raise_if_any("The consent event is invalid.")
    assert purpose is not None
    row = {
        "id": new_id(),
        "customer_id": customer["id"],
        "purpose_id": purpose["id"],
        "action": action,
        "mechanism": mechanism,
        "lawful_basis": purpose["lawful_basis"],
        "evidence": kept,
        "source_id": sources.source_id(uow, source),
        "occurred_at": when,
        "recorded_at": now,
    }
    uow.consents.append_many([row])
    audit.record(uow, actor, "consent.write", [customer["id"]], [f"consent:{purpose_key}"])
    return {**_public(row), "purpose": purpose_key}


def record_gpc(
    uow: UnitOfWork,
    customer_id: str,
    *,
    actor: Actor,
    settings: Settings,
    occurred_at: datetime | None = None,
) -> bool:
    """A Global Privacy Control signal (``Sec-GPC: 1``) is an opt-out of sale and sharing
    (CCPA regulations 7025). Recorded as a denial when the register has that purpose."""
    if uow.purposes.get_by_key(SALE_SHARING_PURPOSE) is None:
        return False
    record_consent(
        uow,
        customer_id,
        SALE_SHARING_PURPOSE,
        "deny",
        actor=actor,
        settings=settings,
        mechanism="opt_out",
        evidence={"gpc": True},
        occurred_at=occurred_at,
    )
    return True


def consent_state(uow: UnitOfWork, customer_id: str, *, actor: Actor) -> dict[str, Any]:
    """The ledger of a person, and the current state per purpose."""
    customer = _active(uow, customer_id)
    ledger = uow.consents.for_customer(customer["id"])
    states = current_consents(ledger)
    audit.record(uow, actor, "consent.read", [customer["id"]], ["consent"])
    return {
        "customer_id": customer["id"],
        "current": {
            key: {
                "action": state.action,
                "mechanism": state.mechanism,
                "occurred_at": state.occurred_at,
                "guardian": state.guardian,
            }
            for key, state in sorted(states.items())
        },
        "events": [{**_public(row), "purpose": row["purpose"]} for row in ledger],
    }


def eligibility(
    uow: UnitOfWork,
    customer_id: str,
    purpose_key: str,
    *,
    settings: Settings,
    actor: Actor | None = None,
    today: date | None = None,
) -> Eligibility:
    """May this person's data be used for this purpose now? Follows merges to the survivor."""
    check = eligible(uow, purpose_key, [customer_id], settings=settings, today=today, explain=True)
    if actor is not None:
        audit.record(uow, actor, "consent.read", [customer_id], [f"eligibility:{purpose_key}"])
    return check.decisions[0]


@dataclass(slots=True)
class _Checked(AudienceCheck):
    decisions: list[Eligibility] = field(default_factory=list)


def eligible(
    uow: UnitOfWork,
    purpose_key: str,
    customer_ids: Sequence[str],
    *,
    settings: Settings,
    today: date | None = None,
    explain: bool = False,
) -> _Checked:
    """The same rule as ``eligibility`` for many people at once (exports, segments, webhooks)."""
    purpose = uow.purposes.get_by_key(purpose_key)
    if purpose is None:
        raise NotFound("No purpose is registered with this key.")
    today = today or utcnow().date()
    result = _Checked()
    for start in range(0, len(customer_ids), 1000):
        chunk = list(customer_ids[start : start + 1000])
        rows = {str(row["id"]): row for row in uow.customers.get_many(chunk)}
        survivors = {cid: _survivor(uow, rows, cid) for cid in chunk}
        known = sorted({s for s in survivors.values() if s is not None})
        ledger: dict[str, list[dict[str, Any]]] = {}
        for event in uow.consents.for_customers(known, purpose_id=str(purpose["id"])):
            ledger.setdefault(str(event["customer_id"]), []).append(event)
        restrictions: dict[str, list[Restriction]] = {}
        for restriction in uow.restrictions.active_for(known):
            restrictions.setdefault(str(restriction["customer_id"]), []).append(
                Restriction(
                    str(restriction["kind"]),
                    frozenset(restriction["purposes"] or []),
                    restriction["request_id"],
                )
            )
        for customer_id in chunk:
            survivor = survivors[customer_id]
            profile = rows.get(survivor) if survivor else None
            state: ConsentState | None = current_consents(ledger.get(survivor or "", [])).get(
                purpose_key
            )
            decision = decide(
                purpose_key=purpose_key,
                lawful_basis=str(purpose["lawful_basis"]),
                status=None if profile is None else str(profile["status"]),
                consent=state,
                restrictions=restrictions.get(survivor or "", ()),
                minor=profile is not None
                and is_minor(profile["birth_date"], today, settings.default_jurisdiction),
            )
            if decision.allowed:
                result.allowed.append(customer_id)
            else:
                result.excluded[decision.reason] += 1
            if explain:
                result.decisions.append(decision)
    return result


def _survivor(uow: UnitOfWork, rows: dict[str, dict[str, Any]], customer_id: str) -> str | None:
    row = rows.get(customer_id)
    hops = 0
    while row is not None and row["status"] == "merged" and row["merged_into"] and hops < 20:
        target = str(row["merged_into"])
        if target not in rows:
            fetched = uow.customers.get(target)
            if fetched is None:
                return None
            rows[target] = fetched
        customer_id, row, hops = target, rows[target], hops + 1
    return customer_id if row is not None else None


def _active(uow: UnitOfWork, customer_id: str) -> Mapping[str, Any]:
    from clientela.customers.service import load_active

    return load_active(uow, customer_id)


def _evidence(evidence: Mapping[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in evidence.items():
        if key not in _EVIDENCE_KEYS:
            errors.add(f"evidence.{key}", "is not an evidence field", "unknown_field")
        elif key == "guardian":
            if not isinstance(value, dict) or not str(value.get("name", "")).strip():
                errors.add(
                    "evidence.guardian",
                    'must be {"name": ..., "relationship": ..., "verified_by": ...}',
                )
            else:
                kept[key] = {k: str(v) for k, v in value.items() if k in _GUARDIAN_KEYS}
        elif key == "gpc":
            kept[key] = bool(value)
        elif not isinstance(value, str) or len(value) > 20_000:
            errors.add(f"evidence.{key}", "must be text", "invalid")
        else:
            kept[key] = value
    text = kept.pop("notice_text", None)
    if text is not None:
        # The notice itself is versioned elsewhere; its hash proves which words were shown.
        kept["notice_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return kept


_GUARDIAN_KEYS = ("name", "relationship", "verified_by")


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "action": row["action"],
        "mechanism": row["mechanism"],
        "lawful_basis": row["lawful_basis"],
        "evidence": row["evidence"],
        "occurred_at": row["occurred_at"],
        "recorded_at": row["recorded_at"],
    }
