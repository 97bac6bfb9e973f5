"""Merging two profiles into a golden record, and undoing a merge exactly.

A merge folds the merged profile into the survivor: each group of fields is chosen by its
survivorship rule (``domain/survivorship.py``), identities, events, orders, consents and field
provenance are re-pointed, and a snapshot of both profiles, of the golden record it produced and
of every re-pointed row id is kept. Unmerge writes both profiles back from that snapshot, then
keeps on the survivor whatever was changed there after the merge, and sends back events that
arrived since under the merged profile's own ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from clientela.audit.service import record as audit
from clientela.customers.profile import name_tokens
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import Conflict, NotFound
from clientela.domain.ids import new_id
from clientela.domain.survivorship import (
    DEFAULT_RULES,
    FALLBACK_RULE,
    FIELD_GROUPS,
    Candidate,
    Rule,
    choose,
)
from clientela.quality.service import refresh_quality
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = [
    "MERGE_REASONS",
    "Merged",
    "UnmergeResult",
    "merge_clusters",
    "merge_history",
    "merge_profiles",
    "unmerge",
]

MERGE_REASONS = ("identity", "alias", "probabilistic", "manual")

#: Columns that are not what a person is but bookkeeping or summaries recomputed from activity.
NOT_PROFILE = frozenset(
    {
        "id",
        "status",
        "merged_into",
        "created_at",
        "updated_at",
        "version",
        "attributes",
        "field_observed",
        "event_count",
        "order_count",
        "total_revenue_minor",
        "first_seen_at",
        "last_seen_at",
        "first_order_at",
        "last_order_at",
        "quality_score",
        "quality",
    }
)


_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    copy = dict(row)
    for key, value in row.items():
        if isinstance(value, date):  # datetime is a date too
            copy[key] = value.isoformat()
    return copy


@lru_cache(maxsize=64)
def _groups(columns: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Field groups of a profile with these columns (the same few column sets every merge)."""
    grouped: dict[str, tuple[str, ...]] = {}
    for group, fields in FIELD_GROUPS.items():
        grouped[group] = tuple(f for f in fields if f in columns)
    for column in columns:
        if not any(column in fields for fields in FIELD_GROUPS.values()):
            grouped[column] = (column,)
    return grouped


def _stamp(observed: Mapping[str, Any], fields: tuple[str, ...]) -> datetime | None:
    """Latest observation time of a group (stamps are ``[iso time, tie-breaker]``)."""
    times = []
    for f in fields:
        stamp = observed.get(f)
        if stamp:
            text = stamp[0] if isinstance(stamp, list | tuple) else stamp
            times.append(datetime.fromisoformat(str(text)))
    return max(times, default=None)


def _candidate(
    row: Mapping[str, Any],
    fields: tuple[str, ...],
    provenance: list[dict[str, Any]],
    trust_of: Mapping[str | None, int],
) -> Candidate:
    values = {f: row.get(f) for f in fields}
    said = {f: _json(v) for f, v in values.items() if v not in (None, "", [], {})}
    # Observations (of either profile) that said exactly these values; the latest one's source
    # is the source of the candidate.
    agreeing = [
        p
        for p in provenance
        if said
        and all(p["fields"].get(f, said[f]) == said[f] for f in said)
        and any(f in p["fields"] for f in said)
    ]
    own = [p for p in agreeing if p["customer_id"] == row["id"]]
    trust = max((trust_of.get(p["source_id"], 0) for p in own or agreeing), default=0)
    return Candidate(
        profile_id=str(row["id"]),
        values=values,
        observed_at=_stamp(row.get("field_observed") or {}, fields),
        trust=trust,
        frequency=len(agreeing),
    )


def golden_record(
    survivor: Mapping[str, Any],
    merged: Mapping[str, Any],
    provenance: list[dict[str, Any]],
    trust_of: Mapping[str | None, int],
    rules: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The survivor's changed values and its new ``field_observed`` after survivorship."""
    chosen: dict[str, Any] = {}
    observed = dict(survivor.get("field_observed") or {})
    theirs_observed = merged.get("field_observed") or {}
    columns = tuple(c for c in survivor if c not in NOT_PROFILE)
    for group, fields in _groups(columns).items():
        if not fields:
            continue
        theirs_values = [merged.get(f) for f in fields]
        ours_values = [survivor.get(f) for f in fields]
        if theirs_values == ours_values or all(v in _EMPTY for v in theirs_values):
            continue  # nothing to choose: the survivor keeps what it has
        rule: Rule = (rules or {}).get(group) or DEFAULT_RULES.get(group) or FALLBACK_RULE  # type: ignore[assignment]
        ours = _candidate(survivor, fields, provenance, trust_of)
        theirs = _candidate(merged, fields, provenance, trust_of)
        winner = choose(rule, [ours, theirs])
        if winner is theirs and dict(theirs.values) != dict(ours.values):
            chosen.update(theirs.values)
            for f in fields:
                if theirs_observed.get(f):
                    observed[f] = theirs_observed[f]
                else:
                    observed.pop(f, None)
    # Custom attributes: the survivor keeps its own, the merged profile fills the gaps.
    attributes = {**(merged.get("attributes") or {}), **(survivor.get("attributes") or {})}
    if attributes != (survivor.get("attributes") or {}):
        chosen["attributes"] = attributes
        for key in attributes:
            stamp = theirs_observed.get(f"attributes.{key}")
            if key not in (survivor.get("attributes") or {}) and stamp:
                observed[f"attributes.{key}"] = stamp
    return chosen, observed


def source_trust(uow: UnitOfWork) -> dict[str | None, int]:
    return {s["id"]: s["trust_rank"] for s in uow.sources.list()}


_NO_ACTIVITY: dict[str, Any] = {
    "event_count": 0,
    "order_count": 0,
    "total_revenue_minor": 0,
    "first_seen_at": None,
    "last_seen_at": None,
    "first_order_at": None,
    "last_order_at": None,
}


def _combined_activity(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The summaries of one person's events and orders, from those of the two profiles."""

    def pick(key: str, choose: Any) -> Any:
        values = [v for v in (a.get(key), b.get(key)) if v is not None]
        return choose(values) if values else None

    return {
        "event_count": (a["event_count"] or 0) + (b["event_count"] or 0),
        "order_count": (a["order_count"] or 0) + (b["order_count"] or 0),
        "total_revenue_minor": (a["total_revenue_minor"] or 0) + (b["total_revenue_minor"] or 0),
        "first_seen_at": pick("first_seen_at", min),
        "last_seen_at": pick("last_seen_at", max),
        "first_order_at": pick("first_order_at", min),
        "last_order_at": pick("last_order_at", max),
    }


@dataclass(frozen=True)
class Merged:
    survivor_id: str
    merged_id: str
    merge_id: str


def merge_profiles(
    uow: UnitOfWork,
    survivor_id: str,
    merged_id: str,
    *,
    reason: str,
    actor: Actor,
    score: int | None = None,
    rules: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> str:
    """Fold ``merged_id`` into ``survivor_id`` by survivorship; returns the merge id. With
    ``settings`` the survivor's quality is assessed again."""
    done = merge_clusters(
        uow,
        [[survivor_id, merged_id]],
        reason=reason,
        actor=actor,
        scores={merged_id: score},
        rules=rules,
        settings=settings,
    )
    return done[0].merge_id


def merge_clusters(
    uow: UnitOfWork,
    clusters: Sequence[Sequence[str]],
    *,
    reason: str,
    actor: Actor,
    scores: Mapping[str, int | None] | None = None,
    rules: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    skip_unmergeable: bool = False,
) -> list[Merged]:
    """Merge each cluster into its first member, one merge (and snapshot) per other member, in
    order; returns what was merged into what. Set-based: a few statements per block of clusters,
    whatever their number. ``skip_unmergeable`` leaves out members merged or erased meanwhile
    (batch runs) instead of refusing."""
    members = [customer_id for cluster in clusters for customer_id in cluster]
    if len(set(members)) != len(members):
        raise Conflict("A profile cannot be merged with itself or into two profiles at once.")
    rows = {row["id"]: row for row in uow.customers.get_many(members)}
    if skip_unmergeable:
        clusters = [
            kept
            for kept in (
                [m for m in cluster if rows.get(m) and rows[m]["status"] == "active"]
                for cluster in clusters
            )
            if len(kept) > 1
        ]
        members = [customer_id for cluster in clusters for customer_id in cluster]
    for customer_id in members:
        row = rows.get(customer_id)
        if row is None:
            raise NotFound("No such customer.", extra={"customer_id": customer_id})
        if row["status"] != "active":
            raise Conflict(
                "Only active profiles can be merged.",
                extra={"customer_id": customer_id, "merged_into": row.get("merged_into")},
            )
    said: dict[str, list[dict[str, Any]]] = {customer_id: [] for customer_id in members}
    for observation in uow.provenance.for_customers(members):
        said[observation["customer_id"]].append(observation)
    trust_of = source_trust(uow)
    merged_ids = [customer_id for cluster in clusters for customer_id in cluster[1:]]
    owned = uow.merges.rows_of(merged_ids)
    now = utcnow()
    updates: list[tuple[str, Mapping[str, Any], int, int]] = []
    merge_rows: list[dict[str, Any]] = []
    done: list[Merged] = []
    renamed: dict[str, dict[str, Any]] = {}
    finals: dict[str, dict[str, Any]] = {}
    changed_fields: set[str] = set()
    for cluster in clusters:
        survivor_id, *others = cluster
        current = dict(rows[survivor_id])
        provenance = list(said[survivor_id])
        name_changed = False
        for merged_id in others:
            merged = rows[merged_id]
            provenance.extend(said[merged_id])
            chosen, observed = golden_record(current, merged, provenance, trust_of, rules)
            after = {
                **current,
                **chosen,
                **_combined_activity(current, merged),
                "field_observed": observed,
                "updated_at": now,
                "version": current["version"] + 1,
            }
            merge_id = new_id()
            done.append(Merged(survivor_id, merged_id, merge_id))
            merge_rows.append(
                {
                    "id": merge_id,
                    "survivor_id": survivor_id,
                    "merged_id": merged_id,
                    "reason": reason,
                    "score": (scores or {}).get(merged_id),
                    "actor": actor.label,
                    "snapshot": {
                        "survivor": _jsonable(current),
                        "merged": _jsonable(merged),
                        # What the merge wrote, so an undo can tell later edits from it.
                        "result": _jsonable({k: after.get(k) for k in chosen}),
                        "moved": owned[merged_id],
                    },
                    "created_at": now,
                }
            )
            updates.append(
                (
                    merged_id,
                    {"status": "merged", "merged_into": survivor_id, "updated_at": now}
                    | _NO_ACTIVITY,
                    merged["version"],
                    merged["version"] + 1,
                )
            )
            name_changed = name_changed or any(k in chosen for k in FIELD_GROUPS["name"])
            changed_fields.update(chosen)
            current = after
        original = rows[survivor_id]
        values = {
            key: current[key]
            for key in current
            if key not in ("id", "version", "created_at") and current[key] != original.get(key)
        }
        values["updated_at"] = now
        updates.append((survivor_id, values, original["version"], current["version"]))
        finals[survivor_id] = current
        if name_changed:
            renamed[survivor_id] = current
    uow.merges.move_many({m: cluster[0] for cluster in clusters for m in cluster[1:]})
    uow.customers.update_versions(updates)
    for survivor_id, row in renamed.items():
        uow.customers.replace_name_tokens(survivor_id, name_tokens(row))
    uow.merges.add_many(merge_rows)
    audit(uow, actor, "customer.merge", members, sorted(changed_fields))
    if settings is not None:
        survivors = {cluster[0]: finals[cluster[0]] for cluster in clusters}
        refresh_quality(uow, survivors, settings=settings, now=now, rows=list(survivors.values()))
    return done


@dataclass(frozen=True)
class UnmergeResult:
    merge_id: str
    survivor_id: str
    restored_id: str
    kept_on_survivor: list[str]
    events_returned: int


def merge_history(uow: UnitOfWork, customer_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The profiles merged into this one (newest first): when, why, by whom, and whether the
    merge was undone. Ids only — the profiles as they were stay in the sealed snapshots."""
    return uow.merges.history_of(customer_id, limit=limit)


def unmerge(
    uow: UnitOfWork,
    merge_id: str,
    *,
    actor: Actor,
    settings: Settings | None = None,
    into: str | None = None,
) -> UnmergeResult:
    """Undo a merge: both profiles as they were, later edits kept where they were made.
    ``into``: only a merge into this profile (a page acting on one customer)."""
    merge = uow.merges.get(merge_id)
    if merge is None or (into is not None and merge["survivor_id"] != into):
        raise NotFound("No such merge.", extra={"merge_id": merge_id})
    if merge["undone_at"] is not None:
        raise Conflict("This merge was already undone.", extra={"merge_id": merge_id})
    survivor_id, merged_id = merge["survivor_id"], merge["merged_id"]
    survivor = uow.customers.get(survivor_id)
    merged = uow.customers.get(merged_id)
    if survivor is None or merged is None:
        raise Conflict("A profile of this merge was deleted; it cannot be undone.")
    if survivor["status"] != "active":
        later = uow.merges.later_merge_of(survivor_id)
        raise Conflict(
            "The survivor was merged again since; undo that merge first.",
            extra={"merge_id": later["id"] if later else None},
        )
    snapshot = merge["snapshot"]
    before_survivor = uow.customers.from_json(snapshot["survivor"])
    before_merged = uow.customers.from_json(snapshot["merged"])
    written = uow.customers.from_json(snapshot.get("result") or {})

    uow.merges.move_back(snapshot["moved"], survivor_id, merged_id)
    identities = uow.identities.for_customer(merged_id)
    returned = uow.merges.move_events_of(
        survivor_id,
        merged_id,
        since=merge["created_at"],
        anonymous_ids=[i["value"] for i in identities if i["kind"] == "anonymous_id"],
        user_ids=[i["value"] for i in identities if i["kind"] == "user_id"],
    )

    # Fields edited on the survivor after the merge differ from what the merge wrote (or, for
    # fields the merge left alone, from the survivor's value before it).
    edited = [
        key
        for key in survivor
        if key not in NOT_PROFILE and survivor[key] != written.get(key, before_survivor.get(key))
    ]
    if survivor.get("attributes") != written.get("attributes", before_survivor.get("attributes")):
        edited.append("attributes")
    uow.customers.restore(before_merged)
    if not edited:
        uow.customers.restore(before_survivor)
    else:
        restored = {**before_survivor, **{key: survivor[key] for key in edited}}
        observed = dict(before_survivor.get("field_observed") or {})
        current_observed = survivor.get("field_observed") or {}
        for key in edited:
            if current_observed.get(key):
                observed[key] = current_observed[key]
        restored.update(
            field_observed=observed, version=survivor["version"] + 1, updated_at=utcnow()
        )
        uow.customers.restore(restored)
    uow.customers.refresh_activity([survivor_id, merged_id])
    for customer_id in (survivor_id, merged_id):
        row = uow.customers.get(customer_id)
        assert row is not None
        uow.customers.replace_name_tokens(customer_id, name_tokens(row))
    now = utcnow()
    uow.merges.mark_undone(merge_id, now)
    uow.matches.remember_rejected(survivor_id, merged_id, actor=actor.label, at=now)
    audit(uow, actor, "customer.unmerge", [survivor_id, merged_id], sorted(edited))
    if settings is not None:
        refresh_quality(uow, [survivor_id, merged_id], settings=settings, now=now)
    return UnmergeResult(merge_id, survivor_id, merged_id, sorted(edited), returned)
