"""Deterministic identity stitching: find the person a message is about, or create them, and
merge two profiles when one message proves they are the same person.

Guard rails against over-merging:
- values on the blocklist (shared test e-mails, all-zero documents, "undefined" ids) never link;
- two profiles that each carry a different ``user_id`` are never merged on implicit evidence (a
  shared e-mail or anonymous id): a user id names one account, so the message is attached to the
  profile of its own ``user_id`` and the conflict is reported instead. Only ``alias``, which states
  that two ids are one person, joins them;
- a value that keeps linking different accounts (more than ``conflict_limit`` times) is flagged
  and blocked (``identity_flags``), like the static blocklist;
- the survivor of a merge is the oldest profile; the merge keeps a snapshot for an exact undo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clientela.customers.service import identity_row
from clientela.domain.actor import Actor, utcnow
from clientela.domain.identity import DEFAULT_BLOCKLIST, IdentityKey
from clientela.domain.ids import new_id
from clientela.identity.merging import merge_profiles
from clientela.storage.uow import UnitOfWork

__all__ = ["Resolution", "empty_profile", "merge_profiles", "resolve"]


@dataclass
class Resolution:
    customer_id: str
    created: bool = False
    merged: list[str] = field(default_factory=list)
    #: keys that point elsewhere and were not linked (kind only: no values in reports)
    conflicts: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def resolve(
    uow: UnitOfWork,
    keys: Sequence[IdentityKey],
    *,
    source_id: str,
    seen_at: datetime,
    actor: Actor,
    blocklist: Iterable[str] = DEFAULT_BLOCKLIST,
    reason: str = "identity",
    conflict_limit: int = 3,
) -> Resolution:
    """The customer these identities belong to, creating, linking or merging as needed."""
    blocked_set = frozenset(blocklist)
    unique = list(dict.fromkeys(keys))
    flagged = uow.identities.blocked([(k.kind, k.value) for k in unique])
    usable = [k for k in unique if str(k) not in blocked_set and (k.kind, k.value) not in flagged]
    blocked = [k.kind for k in unique if k not in usable]
    owners = uow.identities.owners_of((key.kind, key.value) for key in usable)
    owner_ids = list(
        dict.fromkeys(owners[(k.kind, k.value)] for k in usable if (k.kind, k.value) in owners)
    )
    explicit = reason == "alias"
    new_user = next(
        (k for k in usable if k.kind == "user_id" and (k.kind, k.value) not in owners), None
    )
    early_conflicts: list[IdentityKey] = []
    if new_user is not None and owner_ids and not explicit:
        # The message names an account nobody holds yet: profiles of other accounts that share
        # one of its values (a family e-mail) are not this person.
        accounts = uow.identities.kinds_of(owner_ids, "user_id")
        others = {owner for owner in owner_ids if accounts.get(owner)}
        early_conflicts = [k for k in usable if owners.get((k.kind, k.value)) in others]
        owner_ids = [owner for owner in owner_ids if owner not in others]
        usable = [k for k in usable if k not in early_conflicts]
        uow.identities.record_conflicts(
            [(k.kind, k.value) for k in early_conflicts if k.kind != "user_id"],
            seen_at,
            limit=conflict_limit,
        )
    if not owner_ids:
        customer_id = _create_empty(uow)
        _link(
            uow,
            customer_id,
            [k for k in usable if (k.kind, k.value) not in owners],
            source_id,
            seen_at,
        )
        return Resolution(
            customer_id, created=True, blocked=blocked, conflicts=[k.kind for k in early_conflicts]
        )
    conflicts: list[str] = [k.kind for k in early_conflicts]
    if len(owner_ids) == 1:
        survivor = owner_ids[0]
        merged: list[str] = []
    else:
        survivor, mergeable, refused = _plan_merge(
            uow, owner_ids, usable, owners, explicit=explicit
        )
        merged = []
        for other in mergeable:
            merge_profiles(uow, survivor, other, reason=reason, actor=actor)
            merged.append(other)
        shared = [k for k in usable if owners.get((k.kind, k.value)) in refused]
        conflicts += [k.kind for k in shared]
        # A value that keeps pointing at other accounts is shared (a family e-mail, a device):
        # past the limit it is blocked from linking anyone and listed for review.
        uow.identities.record_conflicts(
            [(k.kind, k.value) for k in shared if k.kind != "user_id"],
            seen_at,
            limit=conflict_limit,
        )
    fresh = [k for k in usable if (k.kind, k.value) not in owners]
    _link(uow, survivor, fresh, source_id, seen_at)
    uow.identities.touch_keys(
        [(k.kind, k.value) for k in usable if owners.get((k.kind, k.value)) in (survivor, *merged)],
        seen_at,
    )
    return Resolution(survivor, merged=merged, conflicts=conflicts, blocked=blocked)


def _plan_merge(
    uow: UnitOfWork,
    owner_ids: list[str],
    keys: Sequence[IdentityKey],
    owners: dict[tuple[str, str], str],
    *,
    explicit: bool,
) -> tuple[str, list[str], set[str]]:
    """Survivor, profiles to fold into it, and profiles refused (another account's user id).

    ``explicit``: an ``alias`` call states that its two ids are one person, so it may join two
    accounts; implicit evidence (a shared e-mail or anonymous id) may not.
    """
    profiles = {row["id"]: row for row in uow.customers.get_many(owner_ids)}
    user_ids = uow.identities.kinds_of(owner_ids, "user_id")
    message_user = next((k for k in keys if k.kind == "user_id"), None)
    anchor_id = owners.get((message_user.kind, message_user.value)) if message_user else None
    # Profiles with a different user id than the anchor's belong to other accounts.
    anchor_users = user_ids.get(anchor_id, set()) if anchor_id else set()
    candidates = sorted(owner_ids, key=lambda i: (profiles[i]["created_at"], i))
    if anchor_id is None:
        with_user = [i for i in candidates if user_ids.get(i)]
        anchor_id = with_user[0] if with_user else candidates[0]
        anchor_users = user_ids.get(anchor_id, set())
    group = [anchor_id]
    refused: set[str] = set()
    for candidate in candidates:
        if candidate == anchor_id:
            continue
        theirs = user_ids.get(candidate, set())
        if not explicit and theirs and anchor_users and theirs != anchor_users:
            refused.add(candidate)
        else:
            group.append(candidate)
            anchor_users = anchor_users or theirs
    survivor = min(group, key=lambda i: (profiles[i]["created_at"], i))
    return survivor, [i for i in group if i != survivor], refused


def empty_profile(customer_id: str, now: datetime) -> dict[str, Any]:
    """The row of a person known so far only by identities."""
    return {
        "id": customer_id,
        "created_at": now,
        "updated_at": now,
        "attributes": {},
        "field_observed": {},
    }


def _create_empty(uow: UnitOfWork) -> str:
    customer_id = new_id()
    uow.customers.insert_many([empty_profile(customer_id, utcnow())])
    return customer_id


def _link(
    uow: UnitOfWork, customer_id: str, keys: Sequence[IdentityKey], source_id: str, seen: datetime
) -> None:
    uow.identities.insert_many([identity_row(customer_id, key, source_id, seen) for key in keys])
