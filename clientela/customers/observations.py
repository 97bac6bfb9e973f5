"""Applying what a source says about a person, newest observation first.

Each field remembers the (time, tie-breaker) of the observation that set it
(``customers.field_observed``); an observation only changes fields it is newer for. So the
final profile depends on what was said and when, not on the order things arrived in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from clientela.customers.profile import name_tokens, provenance_values, stored_values
from clientela.domain.actor import Actor, utcnow
from clientela.domain.fields import NAME_PARTS, ProfileChanges
from clientela.storage.uow import UnitOfWork

__all__ = ["apply_observation"]


def apply_observation(
    uow: UnitOfWork,
    customer_id: str,
    changes: Mapping[str, Any],
    *,
    stamp: list[str],
    observed_at: datetime,
    source_id: str,
    actor: Actor,
) -> list[str]:
    """Apply validated ``changes`` (core fields, and ``attributes``); return the fields whose
    stored value changed."""
    row = uow.customers.get(customer_id)
    assert row is not None
    observed = dict(row.get("field_observed") or {})
    fields: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "attributes":
            continue
        if observed.get(key) is None or observed[key] < stamp:
            observed[key] = stamp
            if row.get(key) != value:
                fields[key] = value
    current_attributes = row.get("attributes") or {}
    attributes: dict[str, Any] = {}
    for key, value in (changes.get("attributes") or {}).items():
        path = f"attributes.{key}"
        if observed.get(path) is None or observed[path] < stamp:
            observed[path] = stamp
            if current_attributes.get(key) != value:
                attributes[key] = value
    if observed == (row.get("field_observed") or {}):
        return []
    applied = ProfileChanges(fields, attributes)
    values = stored_values(applied, current_attributes)
    values["field_observed"] = observed
    if fields or attributes:
        values["updated_at"] = utcnow()
    uow.customers.update(customer_id, values, expected_version=row["version"])
    if any(key in fields for key in (*NAME_PARTS, "full_name")):
        uow.customers.replace_name_tokens(customer_id, name_tokens({**row, **values}))
    if fields or attributes:
        uow.provenance.insert_many(
            [
                {
                    "customer_id": customer_id,
                    "source_id": source_id,
                    "actor": actor.label,
                    "fields": provenance_values(applied),
                    "observed_at": observed_at,
                    "recorded_at": utcnow(),
                }
            ]
        )
    return [*fields, *(f"attributes.{key}" for key in attributes)]
