"""Data-subject requests: receipt, identity verification, deadlines, execution, proof.

received → verifying (a one-time code to a contact already on file) or attested by the DPO →
in progress → completed / denied, with one extension where the law allows it. Every step is
kept (``privacy_request_steps``) and audited. The identity a request names is stored only as
its suppression hash: the request outlives an erasure without naming the person.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.deadlines import Jurisdiction, local_date, request_deadlines
from clientela.domain.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from clientela.domain.identity import IdentityKey
from clientela.domain.ids import new_id
from clientela.domain.privacy import (
    SALE_SHARING_PURPOSE,
    ErasureMode,
    RequestKind,
    RequestStatus,
    check_transition,
    current_consents,
)
from clientela.privacy import bundle as bundles
from clientela.privacy import journal
from clientela.privacy.erasure import COMPACTED_TABLES, erase_person
from clientela.privacy.register import data_map
from clientela.privacy.suppression import identity_hash
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = [
    "acknowledge",
    "attest",
    "confirm_code",
    "create_request",
    "deny",
    "extend",
    "get_request",
    "list_requests",
    "run_request",
    "send_code",
]

CODE_LIFETIME = timedelta(minutes=30)
MAX_CODE_ATTEMPTS = 5
_OPEN = (
    RequestStatus.RECEIVED,
    RequestStatus.VERIFYING,
    RequestStatus.IN_PROGRESS,
    RequestStatus.EXTENDED,
)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    request: dict[str, Any]
    bundle: Path | None


def create_request(
    uow: UnitOfWork,
    *,
    kind: str,
    identity: IdentityKey,
    actor: Actor,
    settings: Settings,
    jurisdiction: str | None = None,
    received_at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    errors = ErrorCollector()
    kind_value = _choice(errors, "kind", kind, RequestKind)
    law = _choice(
        errors, "jurisdiction", jurisdiction or settings.default_jurisdiction, Jurisdiction
    )
    now = utcnow()
    received = received_at or now
    if received > now + timedelta(minutes=5):
        errors.add("received_at", "is in the future", "future")
    checked = _details(uow, kind_value, details or {}, errors)
    errors.raise_if_any("The request is invalid.")
    assert kind_value is not None
    assert law is not None
    customer_id = uow.identities.owner_of(identity.kind, identity.value)
    if customer_id is not None:
        from clientela.customers.service import survivor_of

        row = uow.customers.get(customer_id)
        customer_id = survivor_of(uow, row) if row is not None else None
    deadlines = request_deadlines(Jurisdiction(law), received)
    request_id = new_id()
    row = {
        "id": request_id,
        "kind": kind_value,
        "status": RequestStatus.RECEIVED.value,
        "jurisdiction": law,
        "customer_id": customer_id,
        "subject_id": customer_id,
        "identity_kind": identity.kind,
        "identity_hash": identity_hash(uow, identity.kind, identity.value),
        "erasure_mode": checked.pop("mode", None),
        "details": checked,
        "received_at": received,
        "respond_by": deadlines.respond_by,
        "extended_respond_by": deadlines.extended_respond_by,
        "extend_notice_by": deadlines.extend_notice_by,
        "acknowledge_by": deadlines.acknowledge_by,
        "verification": {},
        "created_by": actor.label,
    }
    uow.privacy_requests.add(row)
    _step(
        uow, request_id, actor, "received", None, RequestStatus.RECEIVED, deadlines.legal_reference
    )
    if kind_value == RequestKind.RECTIFICATION and customer_id is not None:
        # Disputed data is blocked from processing until the request closes (152-FZ Art. 21).
        _restrict(uow, customer_id, "dispute", [], request_id, fields=sorted(checked["changes"]))
    audit.record(uow, actor, f"privacy.request.{kind_value}", [customer_id], [], purpose="dsr")
    return get_request(uow, request_id)


def get_request(uow: UnitOfWork, request_id: str, *, today: date | None = None) -> dict[str, Any]:
    row = uow.privacy_requests.get(request_id)
    if row is None:
        raise NotFound("No privacy request with this id.")
    public = _public(row, today or local_date(utcnow(), Jurisdiction(row["jurisdiction"])))
    public["steps"] = [
        {
            "occurred_at": step["occurred_at"],
            "actor": step["actor"],
            "action": step["action"],
            "from_status": step["from_status"],
            "to_status": step["to_status"],
            "note": step["note"],
        }
        for step in uow.privacy_requests.steps(request_id)
    ]
    return public


def list_requests(
    uow: UnitOfWork,
    *,
    open_only: bool = True,
    overdue_only: bool = False,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Requests by due date, each with its days left (negative: overdue)."""
    today = today or utcnow().date()
    rows = uow.privacy_requests.find(
        statuses=[s.value for s in _OPEN] if open_only or overdue_only else None,
        due_before=today if overdue_only else None,
    )
    return [_public(row, today) for row in rows]


def send_code(uow: UnitOfWork, request_id: str, *, actor: Actor, channel: str = "email") -> None:
    """Put a one-time code in the outbox, to a contact the store already holds."""
    request = _open(uow, request_id)
    if request["customer_id"] is None:
        raise Conflict("No profile matches this request's identity: attest it instead.")
    customer = uow.customers.get(str(request["customer_id"]))
    assert customer is not None
    address = customer.get("email" if channel == "email" else "phone")
    if not address:
        raise Conflict(f"The profile has no {channel} to send a code to: attest the identity.")
    code = f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    uow.outbox.add(
        {
            "id": new_id(),
            "customer_id": customer["id"],
            "channel": channel,
            "address": address,
            "subject": "Your verification code",
            "body": f"Your code to confirm your privacy request is {code}. "
            "It expires in 30 minutes.",
            "created_at": now,
            "sent_at": None,
        }
    )
    verification = {
        "method": f"code:{channel}",
        "code_hash": uow.keyring.keyed_hash("verification", f"{request_id}:{code}"),
        "expires_at": (now + CODE_LIFETIME).isoformat(),
        "attempts": 0,
    }
    status = RequestStatus(request["status"])
    if status is RequestStatus.RECEIVED:
        check_transition(status, RequestStatus.VERIFYING)
        status = RequestStatus.VERIFYING
    uow.privacy_requests.update(request_id, {"verification": verification, "status": status.value})
    _step(uow, request_id, actor, "code_sent", request["status"], status, channel)


def confirm_code(uow: UnitOfWork, request_id: str, code: str, *, actor: Actor) -> dict[str, Any]:
    request = _open(uow, request_id)
    verification = dict(request["verification"] or {})
    if "code_hash" not in verification:
        raise Conflict("No code was sent for this request.")
    if verification["attempts"] >= MAX_CODE_ATTEMPTS:
        raise Conflict("Too many wrong codes: send a new one.")
    if datetime.fromisoformat(verification["expires_at"]) < utcnow():
        raise Conflict("The code expired: send a new one.")
    expected = uow.keyring.keyed_hash("verification", f"{request_id}:{code.strip()}")
    if not hmac.compare_digest(expected, verification["code_hash"]):
        verification["attempts"] += 1
        uow.privacy_requests.update(request_id, {"verification": verification})
        raise ValidationFailed(
            "The code is wrong.",
            errors=[FieldError("code", "does not match the code sent", "wrong_code")],
        )
    verification.pop("code_hash")
    verification["verified_at"] = utcnow().isoformat()
    verification["verified_by"] = actor.label
    return _advance(uow, request, RequestStatus.IN_PROGRESS, actor, "verified", verification)


def attest(uow: UnitOfWork, request_id: str, *, actor: Actor, note: str = "") -> dict[str, Any]:
    """The DPO vouches for the requester's identity (documents seen, known channel...)."""
    request = _open(uow, request_id)
    verification = {
        "method": "attested",
        "verified_at": utcnow().isoformat(),
        "verified_by": actor.label,
        "note": note,
    }
    return _advance(uow, request, RequestStatus.IN_PROGRESS, actor, "attested", verification)


def extend(uow: UnitOfWork, request_id: str, *, actor: Actor, notice: str) -> dict[str, Any]:
    request = _open(uow, request_id)
    if request["extended_respond_by"] is None:
        raise Conflict(f"{request['jurisdiction']} allows no extension of this deadline.")
    today = local_date(utcnow(), Jurisdiction(request["jurisdiction"]))
    if request["extend_notice_by"] is not None and today > request["extend_notice_by"]:
        raise Conflict(
            f"An extension had to be notified by {request['extend_notice_by']}; it is too late."
        )
    if not notice.strip():
        raise ValidationFailed(
            "An extension needs the notice sent to the person (with its reasons).",
            errors=[FieldError("notice", "is required", "required")],
        )
    check_transition(RequestStatus(request["status"]), RequestStatus.EXTENDED)
    uow.privacy_requests.update(request_id, {"status": "extended", "extended_at": utcnow()})
    _step(uow, request_id, actor, "extended", request["status"], RequestStatus.EXTENDED, notice)
    return get_request(uow, request_id)


def acknowledge(uow: UnitOfWork, request_id: str, *, actor: Actor) -> dict[str, Any]:
    request = _open(uow, request_id)
    uow.privacy_requests.update(request_id, {"acknowledged_at": utcnow()})
    _step(uow, request_id, actor, "acknowledged", request["status"], request["status"], "")
    return get_request(uow, request_id)


def deny(uow: UnitOfWork, request_id: str, *, actor: Actor, reason: str) -> dict[str, Any]:
    request = _open(uow, request_id)
    if not reason.strip():
        raise ValidationFailed(
            "A denial needs its reason.", errors=[FieldError("reason", "is required", "required")]
        )
    check_transition(RequestStatus(request["status"]), RequestStatus.DENIED)
    uow.restrictions.lift(request_id=request_id, when=utcnow())
    uow.privacy_requests.update(
        request_id, {"status": "denied", "reason": reason, "closed_at": utcnow(), "details": {}}
    )
    _step(uow, request_id, actor, "denied", request["status"], RequestStatus.DENIED, reason)
    return get_request(uow, request_id)


def run_request(
    store: Store,
    request_id: str,
    *,
    actor: Actor,
    settings: Settings,
    attest_identity: bool = False,
) -> RunOutcome:
    """Carry a verified request out and complete it; an erasure then compacts the store."""
    bundle_path: Path | None = None
    erased_bundles: list[str] = []
    tombstone: journal.ErasureTombstone | None = None
    with store.unit_of_work() as uow:
        request = _open(uow, request_id)
        status = RequestStatus(request["status"])
        if status in (RequestStatus.RECEIVED, RequestStatus.VERIFYING):
            if not attest_identity:
                raise Conflict(
                    "The requester's identity is not verified: confirm the code sent to them, "
                    "or attest it (CLI: --yes; API: attest)."
                )
            attest(uow, request_id, actor=actor, note="attested when run")
            request = _open(uow, request_id)
        kind = RequestKind(request["kind"])
        customer_id = request["customer_id"]
        if customer_id is not None:
            current = uow.customers.get(str(customer_id))
            if current is None or current["status"] == "erased":
                customer_id = None
        result: dict[str, Any]
        if kind in (RequestKind.ACCESS, RequestKind.PORTABILITY):
            if customer_id is None:
                result = {"found": False}
            else:
                built = bundles.build_bundle(uow, str(customer_id), actor=actor)
                bundle_path = settings.data_dir / "privacy" / "bundles" / f"{request_id}.zip"
                result = {"found": True, "bundle": str(bundle_path)}
                bundles.write_bundle(built, bundle_path)
        elif kind is RequestKind.CONFIRMATION:
            result = _confirmation(uow, customer_id)
        elif kind is RequestKind.SHARING_INFO:
            result = _sharing(uow, customer_id)
        elif kind is RequestKind.RECTIFICATION:
            if customer_id is None:
                raise Conflict("No profile matches this request's identity: nothing to rectify.")
            from clientela.customers.service import update_customer

            changes = dict(request["details"].get("changes") or {})
            uow.restrictions.lift(request_id=request_id, when=utcnow())
            update_customer(
                uow, str(customer_id), changes, actor=actor, settings=settings, source="cli"
            )
            result = {"fields": sorted(changes)}
        elif kind is RequestKind.ERASURE:
            mode = ErasureMode(request["erasure_mode"] or ErasureMode.DELETION)
            if customer_id is None:
                # Nothing held; still make sure the identity is not collected again.
                uow.suppressions.add_many(
                    [
                        {
                            "hash": request["identity_hash"],
                            "kind": request["identity_kind"],
                            "reason": "erasure",
                            "request_id": request_id,
                            "created_at": utcnow(),
                        }
                    ]
                )
                result = {"found": False, "suppressed_identifiers": 1}
            else:
                erased = erase_person(
                    uow,
                    str(customer_id),
                    actor=actor,
                    settings=settings,
                    mode=mode,
                    legal_basis=_erasure_basis(request["jurisdiction"]),
                    request_id=request_id,
                )
                erased_bundles = erased.bundles
                tombstone = journal.ErasureTombstone(
                    subject_id=erased.subject_id,
                    profiles=tuple(erased.profiles),
                    request_id=request_id,
                    occurred_at=utcnow(),
                    suppression=tuple(erased.suppression),
                )
                result = erased.as_dict()
        else:
            if customer_id is None:
                raise Conflict("No profile matches this request's identity.")
            result = _restrict_for(uow, request, str(customer_id), kind, actor, settings)
        uow.privacy_requests.update(
            request_id,
            {
                "status": "completed",
                "result": result,
                "closed_at": utcnow(),
                "details": {} if kind is RequestKind.RECTIFICATION else request["details"],
            },
        )
        _step(uow, request_id, actor, "completed", request["status"], RequestStatus.COMPLETED, "")
        uow.commit()
    if tombstone is not None:  # after the commit: only erasures that happened are replayed
        journal.append(settings.data_dir, store.keyring(), tombstone)
    if kind is RequestKind.ERASURE:
        for path in erased_bundles:
            Path(path).unlink(missing_ok=True)
        store.compact(COMPACTED_TABLES)
    with store.unit_of_work(write=False) as uow:
        final = get_request(uow, request_id)
    return RunOutcome(final, bundle_path)


# --- kinds ----------------------------------------------------------------------------------------


def _confirmation(uow: UnitOfWork, customer_id: str | None) -> dict[str, Any]:
    if customer_id is None:
        return {"processing": False}
    row = uow.customers.get(customer_id)
    assert row is not None
    held = [entry for entry in data_map(uow) if row.get(entry.field) not in (None, [], {}, 0)]
    return {
        "processing": True,
        "categories": sorted({entry.category for entry in held}),
        "purposes": sorted({p for entry in held for p in entry.purposes}),
    }


def _sharing(uow: UnitOfWork, customer_id: str | None) -> dict[str, Any]:
    states = current_consents(uow.consents.for_customer(customer_id)) if customer_id else {}
    return {
        "recipients": [
            {
                "purpose": row["key"],
                "recipients": list(row["recipients"] or []),
                "international_transfers": list(row["international_transfers"] or []),
                "lawful_basis": row["lawful_basis"],
                "consent": states[row["key"]].action if row["key"] in states else None,
            }
            for row in uow.purposes.list()
            if row["recipients"]
        ]
    }


def _restrict_for(
    uow: UnitOfWork,
    request: Mapping[str, Any],
    customer_id: str,
    kind: RequestKind,
    actor: Actor,
    settings: Settings,
) -> dict[str, Any]:
    purposes = list(request["details"].get("purposes") or [])
    if kind is RequestKind.OPT_OUT:
        # Sale and sharing: the register's purpose for it, else every purpose with recipients.
        registered = {str(p["key"]): p for p in uow.purposes.list()}
        if not purposes:
            purposes = (
                [SALE_SHARING_PURPOSE]
                if SALE_SHARING_PURPOSE in registered
                else [key for key, p in registered.items() if p["recipients"]]
            )
        from clientela.privacy.consent import record_consent

        for key in purposes:
            record_consent(
                uow,
                customer_id,
                key,
                "withdraw",
                actor=actor,
                settings=settings,
                mechanism="opt_out",
                evidence={"form": f"privacy request {request['id']}"},
                source="cli",
            )
    _restrict(uow, customer_id, str(kind), purposes, str(request["id"]))
    return {"restricted_purposes": purposes or "all"}


def _restrict(
    uow: UnitOfWork,
    customer_id: str,
    kind: str,
    purposes: Sequence[str],
    request_id: str,
    *,
    fields: Sequence[str] = (),
) -> None:
    uow.restrictions.add(
        {
            "id": new_id(),
            "customer_id": customer_id,
            "kind": kind,
            "purposes": list(purposes),
            "fields": list(fields),
            "request_id": request_id,
            "created_at": utcnow(),
            "lifted_at": None,
        }
    )


def _erasure_basis(jurisdiction: str) -> str:
    return {
        "LGPD": "LGPD Art. 18 VI (data subject's request)",
        "GDPR": "GDPR Art. 17(1) (data subject's request)",
        "CCPA": "CCPA 1798.105 (consumer's request to delete)",
        "152FZ": "152-FZ Art. 21(5) (withdrawal / demand to destroy)",
    }[jurisdiction]


# --- helpers --------------------------------------------------------------------------------------


def _details(
    uow: UnitOfWork, kind: str | None, details: Mapping[str, Any], errors: ErrorCollector
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    allowed = {"purposes", "changes", "mode", "note"}
    for key in details:
        if key not in allowed:
            errors.add(f"details.{key}", "is not a request detail", "unknown_field")
    purposes = details.get("purposes")
    if purposes is not None:
        known = uow.purposes.ids_by_key()
        if not isinstance(purposes, list) or any(p not in known for p in purposes):
            errors.add("details.purposes", "must list registered purpose keys", "unknown_purpose")
        else:
            checked["purposes"] = purposes
    if kind == RequestKind.RECTIFICATION:
        changes = details.get("changes")
        if not isinstance(changes, dict) or not changes:
            errors.add(
                "details.changes", "a rectification names the fields and their correct values"
            )
        else:
            checked["changes"] = changes
    if kind == RequestKind.ERASURE:
        mode = details.get("mode", ErasureMode.DELETION.value)
        if mode not in [m.value for m in ErasureMode]:
            errors.add(
                "details.mode", "is one of deletion, anonymisation, blocking", "invalid_choice"
            )
        else:
            checked["mode"] = mode
    if isinstance(details.get("note"), str):
        checked["note"] = details["note"][:2000]
    return checked


def _choice(errors: ErrorCollector, name: str, value: Any, choices: type[Any]) -> str | None:
    allowed = [str(c.value) for c in choices]
    if str(value) not in allowed:
        errors.add(name, "must be one of " + ", ".join(allowed), "invalid_choice")
        return None
    return str(value)


def _open(uow: UnitOfWork, request_id: str) -> dict[str, Any]:
    row = uow.privacy_requests.get(request_id)
    if row is None:
        raise NotFound("No privacy request with this id.")
    if RequestStatus(row["status"]) not in _OPEN:
        raise Conflict(f"The request is {row['status']}: it is closed.")
    return row


def _advance(
    uow: UnitOfWork,
    request: Mapping[str, Any],
    target: RequestStatus,
    actor: Actor,
    action: str,
    verification: Mapping[str, Any],
) -> dict[str, Any]:
    check_transition(RequestStatus(request["status"]), target)
    uow.privacy_requests.update(
        str(request["id"]), {"status": target.value, "verification": dict(verification)}
    )
    _step(uow, str(request["id"]), actor, action, request["status"], target, "")
    return get_request(uow, str(request["id"]))


def _step(
    uow: UnitOfWork,
    request_id: str,
    actor: Actor,
    action: str,
    from_status: str | None,
    to_status: str,
    note: str,
) -> None:
    uow.privacy_requests.add_step(
        {
            "id": new_id(),
            "request_id": request_id,
            "occurred_at": utcnow(),
            "actor": actor.label,
            "action": action,
            "from_status": None if from_status is None else str(from_status),
            "to_status": str(to_status),
            "note": note,
        }
    )


def _public(row: Mapping[str, Any], today: date) -> dict[str, Any]:
    due = row["extended_respond_by"] if row["extended_at"] is not None else row["respond_by"]
    closed = RequestStatus(row["status"]) not in _OPEN
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "jurisdiction": row["jurisdiction"],
        "customer_id": row["customer_id"],
        "identity_kind": row["identity_kind"],
        "erasure_mode": row["erasure_mode"],
        "received_at": row["received_at"],
        "due_date": due,
        "days_left": None if closed else (due - today).days,
        "overdue": not closed and today > due,
        "respond_by": row["respond_by"],
        "extended_respond_by": row["extended_respond_by"],
        "extend_notice_by": row["extend_notice_by"],
        "acknowledge_by": row["acknowledge_by"],
        "acknowledged_at": row["acknowledged_at"],
        "verification": {k: v for k, v in (row["verification"] or {}).items() if k != "code_hash"},
        "result": row["result"],
        "reason": row["reason"],
        "closed_at": row["closed_at"],
    }
