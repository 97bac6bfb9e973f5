"""Breach impact reports: who and what a compromised actor, key or store exposed, and by when
each authority and the people must be told.

The people and fields come from the audit log (every read and write of personal data is
there, with the actor); the data categories from the data map. A compromised store exposes
everyone it holds.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.deadlines import breach_deadlines
from clientela.domain.errors import ErrorCollector, NotFound
from clientela.domain.ids import new_id
from clientela.privacy.register import data_map
from clientela.storage.uow import UnitOfWork

__all__ = ["COMPROMISED_KINDS", "breach_report", "notification_list", "recent_reports"]

COMPROMISED_KINDS = ("actor", "api_key", "user", "store")
#: audit "fields" that are not profile fields, and the category of what they name
_ACTIVITY_CATEGORIES = {
    "events": "behavioural",
    "transactions": "transactional",
    "consent": "personal",
    "identities": "personal",
}
_CONTACT_FIELDS = ("given_name", "family_name", "full_name", "email", "phone", "locale", "country")


def breach_report(
    uow: UnitOfWork,
    *,
    kind: str,
    identifier: str | None,
    start: datetime,
    end: datetime,
    aware_at: datetime,
    actor: Actor,
) -> dict[str, Any]:
    errors = ErrorCollector()
    if kind not in COMPROMISED_KINDS:
        errors.add("kind", "must be one of " + ", ".join(COMPROMISED_KINDS), "invalid_choice")
    if kind != "store" and not identifier:
        errors.add("id", "names the compromised actor, API key or user", "required")
    if end <= start:
        errors.add("end", "must be after the start of the window")
    errors.raise_if_any("The breach report is invalid.")
    entries = {entry.field: entry for entry in data_map(uow)}
    people: set[str] = set()
    fields: Counter[str] = Counter()
    if kind == "store":
        people = set(uow.customers.active_ids())
        fields.update({name: len(people) for name in entries})
    else:
        label = identifier if kind == "actor" else f"{kind}:{identifier}"
        for customer_id, touched in uow.audit.window(start, end, actor=label):
            if customer_id is None:
                continue
            people.add(customer_id)
            fields.update(set(touched))
    categories: Counter[str] = Counter()
    sensitive: set[str] = set()
    for name, count in fields.items():
        base = name.split(":", 1)[0]
        entry = entries.get(base)
        category = entry.category if entry else _ACTIVITY_CATEGORIES.get(base, "other")
        categories[category] += count
        if entry and entry.sensitivity in ("sensitive", "special"):
            sensitive.add(base)
    summary = {
        "people": len(people),
        "fields": dict(sorted(fields.items())),
        "categories": dict(sorted(categories.items())),
        "sensitive_fields": sorted(sensitive),
        "deadlines": [
            {
                "jurisdiction": str(deadline.jurisdiction),
                "notify": deadline.notify,
                "due_at": deadline.due_at,
                "legal_reference": deadline.legal_reference,
            }
            for deadline in breach_deadlines(aware_at)
        ],
    }
    report_id = new_id()
    uow.breaches.add(
        {
            "id": report_id,
            "compromised": {"kind": kind, "id": identifier},
            "window_start": start,
            "window_end": end,
            "aware_at": aware_at,
            "summary": _jsonable(summary),
            "customer_ids": sorted(people),
            "actor": actor.label,
            "created_at": utcnow(),
        }
    )
    audit.record(uow, actor, "privacy.breach_report", [None], [], purpose="breach")
    return {"id": report_id, "compromised": {"kind": kind, "id": identifier}, **summary}


def recent_reports(uow: UnitOfWork, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest reports with their summaries (counts, categories, deadlines), newest first."""
    return uow.breaches.recent(limit=limit)


def notification_list(uow: UnitOfWork, report_id: str, *, actor: Actor) -> str:
    """CSV of the people to notify, with the contact details to reach them (audited)."""
    report = uow.breaches.get(report_id)
    if report is None:
        raise NotFound("No breach report with this id.")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["customer_id", *_CONTACT_FIELDS])
    ids = list(report["customer_ids"])
    listed = []
    for start in range(0, len(ids), 1000):
        for row in uow.customers.get_many(ids[start : start + 1000]):
            if row["status"] != "active":
                continue
            writer.writerow([row["id"], *[row.get(name) or "" for name in _CONTACT_FIELDS]])
            listed.append(str(row["id"]))
    audit.record(uow, actor, "privacy.breach_notify", listed, _CONTACT_FIELDS, purpose="breach")
    return out.getvalue()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
