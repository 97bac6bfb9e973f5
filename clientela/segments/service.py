"""Segments: count and preview definitions; save them, materialise their membership (on demand
and every ``refresh_minutes``) with its history of entries and exits.

A saved segment may name other saved segments (``{"segment": key}``): materialising it first
materialises those, in dependency order, and a definition that would make a segment depend on
itself is refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool

from clientela.attributes.service import registry
from clientela.audit import service as audit
from clientela.customers.profile import personal_fields_present, present_profile
from clientela.customers.service import decode_cursor, encode_cursor, get_customer, shown_all
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import (
    BadRequest,
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from clientela.domain.ids import is_uuid, new_id
from clientela.domain.segments import Node, parse_definition, referenced_segments
from clientela.settings import Settings
from clientela.storage.errors import DuplicateKey
from clientela.storage.segments import compile_segment
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = [
    "check_definition",
    "count_segment",
    "create_segment",
    "delete_segment",
    "get_segment",
    "list_segments",
    "materialise_segment",
    "preview_segment",
    "refresh_due_segments",
    "segment_changes",
    "segment_member_ids",
    "segment_members",
    "segment_refresh_loop",
    "segments_of",
    "update_segment",
]

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_REFRESH_MINUTES = 60 * 24 * 31


def check_definition(uow: UnitOfWork, definition: Any) -> Node:
    attributes = {key: str(d.type) for key, d in registry(uow).items()}
    purposes = frozenset(uow.purposes.ids_by_key())
    return parse_definition(
        definition, attributes=attributes, purposes=purposes, segments=uow.segments.keys()
    )


def count_segment(
    uow: UnitOfWork, definition: Any, *, as_of: date | None = None, within: list[str] | None = None
) -> int:
    node = check_definition(uow, definition)
    return uow.segments.count(compile_segment(node, as_of=as_of or utcnow().date()), within=within)


def preview_segment(
    uow: UnitOfWork,
    definition: Any,
    *,
    actor: Actor,
    settings: Settings,
    sample: int = 10,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The count and a few members (as the actor's role may see them)."""
    node = check_definition(uow, definition)
    condition = compile_segment(node, as_of=as_of or utcnow().date())
    count = uow.segments.count(condition)
    ids = uow.segments.ids(condition, limit=sample)
    members = [get_customer(uow, i, actor=actor, settings=settings) for i in ids]
    audit.record(uow, actor, "segment.preview", [None], [], purpose=None)
    return {"count": count, "sample": members}


# --- saved segments ---------------------------------------------------------------------------


def list_segments(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [_public(row) for row in uow.segments.saved()]


def get_segment(uow: UnitOfWork, key: str) -> dict[str, Any]:
    return _public(_row(uow, key))


def create_segment(uow: UnitOfWork, data: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
    values = _validated(uow, data, key=None)
    now = utcnow()
    row = {
        "id": new_id(),
        "description": "",
        "refresh_minutes": None,
        **values,
        "created_by": actor.label,
        "created_at": now,
        "updated_at": now,
        "materialised_at": None,
        "member_count": None,
    }
    try:
        uow.segments.add(row)
    except DuplicateKey:
        raise Conflict("A segment with this key is already saved.") from None
    audit.record(uow, actor, "segment.create", [None], [row["key"]])
    return _public(row)


def update_segment(
    uow: UnitOfWork, key: str, data: Mapping[str, Any], *, actor: Actor
) -> dict[str, Any]:
    """Change the name, description, definition or refresh interval (the key stays). A new
    definition takes effect at the next materialisation."""
    row = _row(uow, key)
    values = _validated(uow, data, key=key)
    if values:
        uow.segments.update(str(row["id"]), {**values, "updated_at": utcnow()})
        audit.record(uow, actor, "segment.update", [None], [key, *sorted(values)])
    return get_segment(uow, key)


def delete_segment(uow: UnitOfWork, key: str, *, actor: Actor) -> None:
    row = _row(uow, key)
    users = [str(other["key"]) for other in uow.segments.saved() if key in _references(other)]
    if users:
        raise Conflict(
            "Other segments are defined on this one: change or delete them first.",
            errors=[FieldError("key", f"used by {', '.join(users)}", "in_use")],
        )
    uow.segments.delete(str(row["id"]))
    audit.record(uow, actor, "segment.delete", [None], [key])


def materialise_segment(
    uow: UnitOfWork, key: str, *, actor: Actor, now: datetime | None = None
) -> dict[str, Any]:
    """Recompute who is in the segment now, recording entries and exits; the segments it names
    are materialised first. Returns the figures of this segment's run."""
    now = now or utcnow()
    result: dict[str, Any] = {}
    for name in _dependency_order(uow, [key]):
        result = _materialise_one(uow, name, actor=actor, now=now)
    return result


def refresh_due_segments(store: Store, *, actor: Actor) -> list[dict[str, Any]]:
    """Materialise every saved segment whose refresh interval has passed, each in its own
    transaction (a failing definition does not hold back the others)."""
    with store.unit_of_work(write=False) as uow:
        due = [str(row["key"]) for row in uow.segments.due(utcnow())]
        order = _dependency_order(uow, due) if due else []
    done = []
    for key in order:
        with store.unit_of_work() as uow:
            row = uow.segments.get_by_key(key)
            if row is None:  # deleted meanwhile
                continue
            done.append(_materialise_one(uow, key, actor=actor, now=utcnow()))
            uow.commit()
    return done


async def segment_refresh_loop(store: Store, settings: Settings) -> None:
    """The server's scheduler for saved segments (cancelled when the server stops)."""
    actor = Actor.system("segments")
    while True:
        await asyncio.sleep(settings.segment_refresh_check_seconds)
        try:
            done = await run_in_threadpool(refresh_due_segments, store, actor=actor)
            if done:
                log.info("segments refreshed: %s", [d["key"] for d in done])
        except Exception:  # one bad run must not stop the next
            log.exception("segment refresh failed")


def segment_member_ids(uow: UnitOfWork, key: str) -> list[str]:
    """Everyone in the segment at its last materialisation."""
    row = _row(uow, key)
    if row["materialised_at"] is None:
        raise Conflict(
            "This segment has not been materialised yet.",
            errors=[FieldError("key", "materialise it first", "not_materialised")],
        )
    return uow.segments.member_ids(str(row["id"]))


def segment_members(
    uow: UnitOfWork,
    key: str,
    *,
    actor: Actor,
    settings: Settings,
    limit: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A page of current members, masked as the actor's role requires."""
    row = _row(uow, key)
    after = decode_cursor(cursor) if cursor else None
    if after is not None and not is_uuid(after):
        raise _bad_cursor()
    ids = uow.segments.member_ids(str(row["id"]), after=after, limit=limit + 1)
    more = len(ids) > limit
    ids = ids[:limit]
    rows = uow.customers.get_many(ids)
    profiles = [
        present_profile(r, currency=settings.currency, currency_exponent=settings.currency_exponent)
        for r in rows
    ]
    audit.record(uow, actor, "segment.members", ids, _personal_fields(profiles))
    return {
        "segment": key,
        "materialised_at": row["materialised_at"],
        "data": shown_all(uow, actor, profiles),
        "next_cursor": encode_cursor(ids[-1]) if more and ids else None,
    }


def segment_changes(
    uow: UnitOfWork,
    key: str,
    *,
    actor: Actor,
    since: datetime,
    until: datetime | None = None,
    limit: int = 1000,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Who entered and who left between two instants ("who left Champions this week")."""
    row = _row(uow, key)
    after = None
    if cursor:
        at, _, stay = decode_cursor(cursor).partition("|")
        try:
            after = (datetime.fromisoformat(at), int(stay))
        except ValueError:
            raise _bad_cursor() from None
    until = until or utcnow() + timedelta(seconds=1)
    if until <= since:
        raise ValidationFailed(
            "The window is empty.", errors=[FieldError("until", "must be after since")]
        )
    moves = uow.segments.changes(
        str(row["id"]), since=since, until=until, limit=limit + 1, after=after
    )
    more = len(moves) > limit
    moves = moves[:limit]
    audit.record(uow, actor, "segment.changes", [None], [key])
    return {
        "segment": key,
        "since": since,
        "until": until,
        "entered": sum(1 for m in moves if m["change"] == "entered"),
        "exited": sum(1 for m in moves if m["change"] == "exited"),
        "changes": [
            {"customer_id": m["customer_id"], "change": m["change"], "at": m["at"]} for m in moves
        ],
        "next_cursor": encode_cursor(f"{moves[-1]['at'].isoformat()}|{moves[-1]['stay']}")
        if more and moves
        else None,
    }


def segments_of(uow: UnitOfWork, customer_id: str) -> list[dict[str, Any]]:
    """The saved segments a person is in now and was in before."""
    if uow.customers.get(customer_id) is None:
        raise NotFound("No customer has this id.")
    return uow.segments.memberships_of(customer_id)


# --- helpers ------------------------------------------------------------------------------------


def _materialise_one(uow: UnitOfWork, key: str, *, actor: Actor, now: datetime) -> dict[str, Any]:
    row = uow.segments.get_by_key(key, lock=True)
    if row is None:
        raise NotFound(f"No segment is saved with the key {key!r}.")
    node = check_definition(uow, row["definition"])
    entered, exited, members = uow.segments.materialise(
        str(row["id"]), compile_segment(node, as_of=now.date()), now
    )
    uow.segments.update(str(row["id"]), {"materialised_at": now, "member_count": members})
    audit.record(uow, actor, "segment.materialise", [None], [key])
    return {
        "key": key,
        "materialised_at": now,
        "members": members,
        "entered": entered,
        "exited": exited,
    }


def _dependency_order(uow: UnitOfWork, keys: list[str]) -> list[str]:
    """``keys`` and the segments they name, each after everything it names."""
    definitions = {str(row["key"]): row for row in uow.segments.saved()}
    order: list[str] = []
    seen: set[str] = set()

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in seen:
            return
        if key in path:  # stored definitions are checked on save; a cycle here is a bug
            raise Conflict(f"Segments depend on each other: {' → '.join([*path, key])}.")
        row = definitions.get(key)
        if row is None:
            raise NotFound(f"No segment is saved with the key {key!r}.")
        for name in sorted(_references(row)):
            visit(name, (*path, key))
        seen.add(key)
        order.append(key)

    for key in keys:
        visit(key, ())
    return order


def _references(row: Mapping[str, Any]) -> set[str]:
    return referenced_segments(row["definition"])


def _validated(uow: UnitOfWork, data: Mapping[str, Any], *, key: str | None) -> dict[str, Any]:
    """Checked values of a new segment (``key`` None) or of changes to the one with ``key``."""
    errors = ErrorCollector()
    creating = key is None
    allowed = {"name", "description", "definition", "refresh_minutes"} | (
        {"key"} if creating else set()
    )
    for unknown in sorted(set(data) - allowed):
        errors.add(unknown, "is not a field of a segment" + ("" if creating else " you can change"))
    values: dict[str, Any] = {}
    if creating:
        new_key = data.get("key")
        if not isinstance(new_key, str) or not _KEY.match(new_key):
            errors.add("key", "lower-case letters, digits and _, starting with a letter (≤ 63)")
        else:
            values["key"] = new_key
    for name, limit, required in (("name", 200, True), ("description", 2000, False)):
        if name not in data:
            if required and creating:
                errors.add(name, "is required", "required")
            continue
        text = data[name]
        blank = isinstance(text, str) and not text.strip()
        if not isinstance(text, str) or len(text.strip()) > limit or (required and blank):
            errors.add(name, f"text of {'1' if required else '0'} to {limit} characters")
        else:
            values[name] = text.strip()
    if "refresh_minutes" in data:
        minutes = data["refresh_minutes"]
        if minutes is not None and (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not 5 <= minutes <= MAX_REFRESH_MINUTES
        ):
            errors.add("refresh_minutes", f"empty (on demand) or 5 to {MAX_REFRESH_MINUTES}")
        else:
            values["refresh_minutes"] = minutes
    if "definition" in data or creating:
        if "definition" not in data:
            errors.add("definition", "is required", "required")
        else:
            try:
                check_definition(uow, data["definition"])
                values["definition"] = data["definition"]
            except ValidationFailed as exc:
                errors.errors.extend(exc.errors)
    errors.raise_if_any("The segment is invalid.")
    if key is not None and "definition" in values:
        _refuse_cycle(uow, key, values["definition"])
    return values


def _refuse_cycle(uow: UnitOfWork, key: str, definition: Any) -> None:
    definitions = {str(row["key"]): _references(row) for row in uow.segments.saved()}
    definitions[key] = referenced_segments(definition)
    pending: list[tuple[str, tuple[str, ...]]] = [
        (name, (key, name)) for name in sorted(definitions[key])
    ]
    seen: set[str] = set()
    while pending:
        name, path = pending.pop()
        if name == key:
            raise ValidationFailed(
                "A segment cannot depend on itself.",
                errors=[FieldError("definition", "segment cycle: " + " → ".join(path), "cycle")],
            )
        if name in seen:
            continue
        seen.add(name)
        pending.extend((other, (*path, other)) for other in sorted(definitions.get(name, ())))


def _bad_cursor() -> BadRequest:
    return BadRequest(
        "The cursor is not one this API gave out.",
        errors=[FieldError("cursor", "is not valid", "invalid_cursor")],
    )


def _row(uow: UnitOfWork, key: str) -> dict[str, Any]:
    row = uow.segments.get_by_key(key)
    if row is None:
        raise NotFound("No segment is saved with this key.")
    return row


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: row[name]
        for name in (
            "key",
            "name",
            "description",
            "definition",
            "refresh_minutes",
            "created_by",
            "created_at",
            "updated_at",
            "materialised_at",
            "member_count",
        )
    }


def _personal_fields(profiles: list[dict[str, Any]]) -> list[str]:
    fields: set[str] = set()
    for profile in profiles:
        fields.update(personal_fields_present(profile))
    return sorted(fields)
