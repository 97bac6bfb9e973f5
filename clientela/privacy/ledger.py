"""The DPO's search over the consent ledger: every grant, denial and withdrawal, newest first,
by purpose, action, person and time, with the evidence that proves it.

Personal evidence (IP address, user agent, guardian) is named, not shown: the proof that a
notice was shown (its version and hash, the form) is what a search answers; the person's own
ledger, on their page, shows the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from clientela.audit import service as audit
from clientela.customers.service import decode_cursor, encode_cursor, owners_of_identity
from clientela.domain.actor import Actor
from clientela.domain.errors import BadRequest, ErrorCollector, FieldError
from clientela.domain.ids import is_uuid
from clientela.domain.privacy import CONSENT_ACTIONS
from clientela.storage.uow import UnitOfWork

__all__ = ["LedgerPage", "search_ledger"]

#: evidence shown in a search: it proves the notice, not who the person is
SHOWN_EVIDENCE = ("notice_version", "notice_hash", "form", "gpc")
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class LedgerPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def search_ledger(
    uow: UnitOfWork,
    *,
    actor: Actor,
    region: str,
    purpose: str | None = None,
    action: str | None = None,
    person: str | None = None,
    since: date | None = None,
    until: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> LedgerPage:
    """``person`` is a customer id, an e-mail, a phone in any common format or a CPF;
    ``since`` and ``until`` are days, both included."""
    errors = ErrorCollector()
    purpose_id = None
    if purpose:
        found = uow.purposes.get_by_key(purpose)
        if found is None:
            errors.add("purpose", "is not a registered purpose", "unknown_purpose")
        else:
            purpose_id = str(found["id"])
    if action and action not in CONSENT_ACTIONS:
        errors.add("action", "must be one of " + ", ".join(CONSENT_ACTIONS), "invalid_choice")
    if since and until and until < since:
        errors.add("until", "is before the first day", "invalid_range")
    if not 1 <= limit <= MAX_LIMIT:
        errors.add("limit", f"must be from 1 to {MAX_LIMIT}", "out_of_range")
    people: list[str] | None = None
    if person:
        text = person.strip()
        people = [text.lower()] if is_uuid(text) else owners_of_identity(uow, text, region=region)
        if not people:
            errors.add("person", "no customer has this id, e-mail, phone or CPF", "not_found")
    errors.raise_if_any("The ledger search is invalid.")
    rows = uow.consents.search(
        purpose_id=purpose_id,
        action=action or None,
        customer_ids=people,
        since=_day_start(since) if since else None,
        until=_day_start(until + timedelta(days=1)) if until else None,
        before=_position(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    customers = sorted({str(row["customer_id"]) for row in rows if row["customer_id"]})
    if customers:
        audit.record(uow, actor, "consent.search", customers, ["consent"])
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(f"{last['occurred_at'].isoformat()}|{last['id']}")
    return LedgerPage([_shown(row) for row in rows], next_cursor)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _position(cursor: str) -> tuple[datetime, str]:
    moment, _, identifier = decode_cursor(cursor).partition("|")
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None or not is_uuid(identifier):
        raise BadRequest(
            "The cursor is not one this API gave out.",
            errors=[FieldError("cursor", "is not valid", "invalid_cursor")],
        )
    return when, identifier


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    evidence = row["evidence"] or {}
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "purpose": row["purpose"],
        "action": row["action"],
        "mechanism": row["mechanism"],
        "lawful_basis": row["lawful_basis"],
        "occurred_at": row["occurred_at"],
        "recorded_at": row["recorded_at"],
        "evidence": {key: evidence[key] for key in SHOWN_EVIDENCE if key in evidence},
        "evidence_held": sorted(key for key in evidence if key not in SHOWN_EVIDENCE),
    }
