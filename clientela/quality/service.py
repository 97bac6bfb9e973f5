"""Quality of profiles: kept current when they are written, and a report of the whole store.

The score is derived data: storing it does not make a new version of the profile. Freshness
decays with time alone, so the report assesses every profile again at the time it is made.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from clientela.audit.service import record as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.identity import DEFAULT_BLOCKLIST
from clientela.domain.quality import FIELD_IMPORTANCE, Quality, assess
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["quality_report", "refresh_all", "refresh_quality", "score_new_rows"]

EXAMPLES = 5


_IDENTITY_FIELDS = ("email", "phone", "document")


def _blocked(uow: UnitOfWork, rows: list[dict[str, Any]] | None = None) -> frozenset[str]:
    """Shared values that count as invalid: the static blocklist and the values flagged for
    linking too many accounts — only those these ``rows`` hold (a write touches a few profiles;
    the report, ``rows=None``, reads every flag once)."""
    if rows is None:
        flags = [(f["kind"], f["value"]) for f in uow.identities.flags() if f["blocked"]]
    else:
        keys = {(k, str(row[k])) for row in rows for k in _IDENTITY_FIELDS if row.get(k)}
        flags = sorted(uow.identities.blocked(sorted(keys))) if keys else []
    return frozenset(DEFAULT_BLOCKLIST) | {f"{kind}:{value}" for kind, value in flags}


def refresh_quality(
    uow: UnitOfWork,
    customer_ids: Iterable[str],
    *,
    settings: Settings,
    now: datetime | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> None:
    """Assess these profiles again and store their scores (in the caller's transaction).
    ``rows``: their current rows, when the caller holds them already."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    now = now or utcnow()
    if rows is None:
        rows = uow.customers.get_many(ids)
    rows = [row for row in rows if row["status"] == "active"]
    open_pairs = uow.matches.pending_for([row["id"] for row in rows])
    blocked = _blocked(uow, rows)
    scores = []
    for row in rows:
        quality = assess(
            row,
            now=now,
            open_duplicates=1 if row["id"] in open_pairs else 0,
            staleness_days=settings.staleness_days,
            blocked=blocked,
        )
        scores.append((row["id"], quality.score, _stored(quality)))
    uow.customers.set_quality(scores)


def refresh_all(store: Store, *, settings: Settings, batch: int = 2_000) -> int:
    """Assess every active profile again, one transaction per batch."""
    with store.unit_of_work(write=False) as uow:
        ids = uow.customers.active_ids()
    for start in range(0, len(ids), batch):
        with store.unit_of_work() as uow:
            refresh_quality(uow, ids[start : start + batch], settings=settings)
            uow.commit()
    return len(ids)


def score_new_rows(
    uow: UnitOfWork, rows: list[dict[str, Any]], *, settings: Settings, now: datetime
) -> None:
    """Set the quality of profile rows about to be inserted (new: no open duplicates)."""
    blocked = _blocked(uow, rows)
    for row in rows:
        quality = assess(
            row,
            now=now,
            staleness_days=settings.staleness_days,
            blocked=blocked,
            validated=True,  # create_customers normalised every field of these rows
        )
        row["quality_score"] = quality.score
        row["quality"] = _stored(quality)


def _stored(quality: Quality) -> dict[str, Any]:
    parts = quality.as_dict()
    parts.pop("score")
    return parts


def quality_report(
    uow: UnitOfWork, *, settings: Settings, actor: Actor, now: datetime | None = None
) -> dict[str, Any]:
    """Counts and example ids (never values) of what lowers quality, across active profiles."""
    now = now or utcnow()
    open_pairs = uow.matches.open_by_customer()
    blocked = _blocked(uow)
    first_source = uow.provenance.first_sources()
    profiles = 0
    total = 0
    histogram = Counter[str]()
    parts_sum: Counter[str] = Counter()
    issues: dict[str, Counter[str]] = {
        "missing": Counter(),
        "invalid": Counter(),
        "stale": Counter(),
        "inconsistent": Counter(),
    }
    examples: dict[str, dict[str, list[str]]] = {name: defaultdict(list) for name in issues}
    by_source: dict[str, list[int]] = defaultdict(list)
    duplicates = 0
    duplicate_examples: list[str] = []
    for batch in uow.customers.active_rows():
        for row in batch:
            quality = assess(
                row,
                now=now,
                open_duplicates=open_pairs.get(row["id"], 0),
                staleness_days=settings.staleness_days,
                blocked=blocked,
            )
            profiles += 1
            total += quality.score
            bucket = min(quality.score // 10 * 10, 90)
            histogram[f"{bucket}-{bucket + 9 if bucket < 90 else 100}"] += 1
            parts_sum.update(quality.parts)
            for name, found in (
                ("missing", quality.missing),
                ("invalid", quality.invalid),
                ("stale", quality.stale),
                ("inconsistent", quality.inconsistent),
            ):
                for key in found:
                    issues[name][key] += 1
                    if len(examples[name][key]) < EXAMPLES:
                        examples[name][key].append(row["id"])
            if open_pairs.get(row["id"]):
                duplicates += 1
                if len(duplicate_examples) < EXAMPLES:
                    duplicate_examples.append(row["id"])
            by_source[first_source.get(row["id"], "unknown")].append(quality.score)
    audit(uow, actor, "quality.report", [None])
    order = [f"{b}-{b + 9 if b < 90 else 100}" for b in range(0, 100, 10)]
    return {
        "generated_at": now,
        "profiles": profiles,
        "mean_score": round(total / profiles, 1) if profiles else None,
        "score_distribution": {label: histogram.get(label, 0) for label in order},
        "mean_parts": {
            name: round(value / profiles, 3) for name, value in sorted(parts_sum.items())
        }
        if profiles
        else {},
        **{
            name: {
                key: {"count": count, "examples": examples[name][key]}
                for key, count in issues[name].most_common()
            }
            for name in issues
        },
        "suspected_duplicates": {"count": duplicates, "examples": duplicate_examples},
        "by_source": {
            source: {"profiles": len(scores), "mean_score": round(sum(scores) / len(scores), 1)}
            for source, scores in sorted(by_source.items())
        },
        "key_fields": [key for key, weight in FIELD_IMPORTANCE.items() if weight >= 1],
    }
