"""Retention: how long each data category is kept, applied daily and on demand.

Policies are per data category (and optionally per purpose, for the register). When several
policies cover a category, the longest wins: data stays while any purpose still needs it.
behavioural → events older than the period are deleted; transactional → older orders are
folded into anonymous sales totals; personal, demographic, psychographic → profiles with no
change, visit or order for the period are erased (without suppression: the person did not
object, they may come back). People under a legal hold are left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.attributes import Category
from clientela.domain.errors import ErrorCollector, NotFound
from clientela.domain.ids import new_id
from clientela.privacy.erasure import COMPACTED_TABLES, erase_person
from clientela.settings import Settings
from clientela.storage.errors import DuplicateKey
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = [
    "DEFAULT_POLICIES",
    "add_policy",
    "ensure_default_policies",
    "list_policies",
    "list_runs",
    "next_run_at",
    "remove_policy",
    "retention_loop",
    "run_retention",
]

log = logging.getLogger(__name__)

#: events 25 months (a common analytics retention), inactive customers 5 years
DEFAULT_POLICIES: tuple[dict[str, Any], ...] = (
    {"category": "behavioural", "days": 761, "description": "events: 25 months"},
    {"category": "personal", "days": 1826, "description": "inactive customers: 5 years"},
)
_PROFILE_CATEGORIES = ("personal", "demographic", "psychographic")
_BATCH = 200


def list_policies(uow: UnitOfWork) -> list[dict[str, Any]]:
    return uow.retention.policies()


def list_runs(uow: UnitOfWork, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, dry or applied, newest first, each with what it did."""
    return uow.retention.runs(limit=limit)


def add_policy(uow: UnitOfWork, data: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
    errors = ErrorCollector()
    categories = [str(c) for c in Category]
    if data.get("category") not in categories:
        errors.add("category", "must be one of " + ", ".join(categories), "invalid_choice")
    days = data.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 36_500:
        errors.add("days", "must be a whole number of days, from 1 to 36500")
    purpose = data.get("purpose")
    if purpose is not None and uow.purposes.get_by_key(str(purpose)) is None:
        errors.add("purpose", "is not a registered purpose", "unknown_purpose")
    errors.raise_if_any("The retention policy is invalid.")
    row = {
        "id": new_id(),
        "category": data["category"],
        "purpose": purpose,
        "days": days,
        "description": str(data.get("description") or ""),
        "created_at": utcnow(),
    }
    try:
        uow.retention.add_policy(row)
    except DuplicateKey:
        from clientela.domain.errors import Conflict

        raise Conflict("A policy for this category and purpose exists; remove it first.") from None
    audit.record(uow, actor, "retention.policy", [None], [str(row["category"])])
    return row


def remove_policy(uow: UnitOfWork, policy_id: str, *, actor: Actor) -> None:
    if not uow.retention.remove_policy(policy_id):
        raise NotFound("No retention policy with this id.")
    audit.record(uow, actor, "retention.policy", [None], ["removed"])


def ensure_default_policies(uow: UnitOfWork) -> None:
    if uow.retention.policies():
        return
    now = utcnow()
    for policy in DEFAULT_POLICIES:
        uow.retention.add_policy({"id": new_id(), "purpose": None, "created_at": now, **policy})


def run_retention(
    store: Store,
    *,
    actor: Actor,
    settings: Settings,
    dry_run: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply (or, dry, count) every policy; returns what it did per category."""
    started = utcnow()
    now = now or started
    with store.unit_of_work(write=not dry_run) as uow:
        policies = uow.retention.policies()
        held = sorted(uow.legal_holds.held_ids())
        longest: dict[str, int] = {}
        for policy in policies:
            longest[policy["category"]] = max(longest.get(policy["category"], 0), policy["days"])
        summary: dict[str, Any] = {"dry_run": dry_run, "now": now.isoformat(), "held": len(held)}
        if "behavioural" in longest:
            cutoff = now - timedelta(days=longest["behavioural"])
            summary["events"] = {
                "older_than": cutoff.isoformat(),
                "count": uow.retention.old_events(cutoff, held, delete_them=not dry_run),
            }
        if "transactional" in longest:
            cutoff = now - timedelta(days=longest["transactional"])
            owners = uow.retention.old_order_owners(cutoff, held)
            if not dry_run and owners:
                uow.erasure.fold_transactions(sorted(owners), before=cutoff)
                uow.customers.refresh_activity(sorted(owners))
            summary["orders"] = {"older_than": cutoff.isoformat(), "count": sum(owners.values())}
        profile_days = [longest[c] for c in _PROFILE_CATEGORIES if c in longest]
        inactive: list[str] = []
        if profile_days:
            cutoff = now - timedelta(days=max(profile_days))
            inactive = uow.retention.inactive_customers(cutoff, held)
            summary["inactive_customers"] = {
                "inactive_since": cutoff.isoformat(),
                "count": len(inactive),
            }
        if not dry_run:
            uow.commit()
    erased = 0
    if not dry_run:
        for start in range(0, len(inactive), _BATCH):
            with store.unit_of_work() as uow:
                for customer_id in inactive[start : start + _BATCH]:
                    erase_person(
                        uow,
                        customer_id,
                        actor=actor,
                        settings=settings,
                        legal_basis=f"retention policy: inactive for {max(profile_days)} days",
                        suppress_identifiers=False,
                    )
                    erased += 1
                uow.commit()
        summary["erased"] = erased
    with store.unit_of_work() as uow:
        uow.retention.add_run(
            {
                "id": new_id(),
                "dry_run": dry_run,
                "actor": actor.label,
                "summary": summary,
                "started_at": started,
                "finished_at": utcnow(),
            }
        )
        uow.commit()
    if not dry_run and (erased or summary.get("events", {}).get("count")):
        store.compact(COMPACTED_TABLES)
    return summary


def next_run_at(now: datetime, daily_at: str) -> datetime:
    """The next ``HH:MM`` (UTC) strictly after ``now``."""
    hours, minutes = (int(part) for part in daily_at.split(":"))
    today = datetime.combine(now.astimezone(UTC).date(), time(hours, minutes), tzinfo=UTC)
    return today if today > now else today + timedelta(days=1)


async def retention_loop(store: Store, settings: Settings) -> None:
    """The server's daily retention run (cancelled when the server stops)."""
    assert settings.retention_daily_at is not None
    while True:
        wake = next_run_at(utcnow(), settings.retention_daily_at)
        await asyncio.sleep(max(0.0, (wake - utcnow()).total_seconds()))
        try:
            summary = await run_in_threadpool(
                run_retention, store, actor=Actor.system("retention"), settings=settings
            )
            log.info("retention run done: %s", {k: v for k, v in summary.items() if k != "now"})
        except Exception:  # a failed run must not stop tomorrow's
            log.exception("retention run failed")
