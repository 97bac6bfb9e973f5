"""/api/v1/segments: preview a definition; save segments, materialise them, read their members
and who entered or left them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from clientela.api.deps import Ctx
from clientela.api.problems import NOT_FOUND, PROBLEM_RESPONSES
from clientela.api.schemas import IsoDateTime
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.domain.segment_text import from_text, to_text
from clientela.segments.service import (
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    materialise_segment,
    preview_segment,
    segment_changes,
    segment_members,
    segments_of,
    update_segment,
)

router = APIRouter(tags=["segments"], responses=PROBLEM_RESPONSES)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] | None = Field(
        None, description="The rule tree (see docs/ARCHITECTURE.md)"
    )
    text: str | None = Field(
        None, max_length=20_000, strict=True, description="Or the text form of the tree"
    )
    sample: int = Field(10, ge=0, le=100, strict=True)


class PreviewOut(BaseModel):
    count: int
    sample: list[dict[str, Any]]


Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Id = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]


def _tree(definition: dict[str, Any] | None, text: str | None) -> Any:
    if (definition is None) == (text is None):
        raise ValidationFailed(
            "Give the definition one way.",
            errors=[FieldError("definition", "exactly one of definition and text")],
        )
    return definition if text is None else from_text(text)


@router.post("/api/v1/segments/preview", response_model=PreviewOut, summary="Count a segment")
async def preview(body: PreviewIn, ctx: Ctx) -> dict[str, Any]:
    """How many active customers the definition selects, and a few of them (masked as the
    caller's role requires). Invalid definitions are refused naming the node."""
    tree = _tree(body.definition, body.text)
    return await ctx.read(
        lambda uow, actor: preview_segment(
            uow, tree, actor=actor, settings=ctx.settings, sample=body.sample
        )
    )


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    name: StrictStr = Field(min_length=1, max_length=200)
    description: StrictStr = Field("", max_length=2000)
    definition: dict[str, Any] | None = None
    text: StrictStr | None = Field(None, max_length=20_000)
    refresh_minutes: StrictInt | None = Field(
        None, ge=5, le=44_640, description="Materialise every N minutes; empty: on demand"
    )


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(None, min_length=1, max_length=200)
    description: StrictStr | None = Field(None, max_length=2000)
    definition: dict[str, Any] | None = None
    text: StrictStr | None = Field(None, max_length=20_000)
    refresh_minutes: StrictInt | None = Field(None, ge=5, le=44_640)


class Segment(BaseModel):
    key: str
    name: str
    description: str
    definition: dict[str, Any]
    text: str
    refresh_minutes: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    materialised_at: datetime | None
    member_count: int | None


class Materialisation(BaseModel):
    key: str
    materialised_at: datetime
    members: int
    entered: int
    exited: int


class Members(BaseModel):
    segment: str
    materialised_at: datetime | None
    data: list[dict[str, Any]]
    next_cursor: str | None


class Change(BaseModel):
    customer_id: str
    change: str = Field(description="entered or exited")
    at: datetime


class Changes(BaseModel):
    segment: str
    since: datetime
    until: datetime
    entered: int
    exited: int
    changes: list[Change]
    next_cursor: str | None


class Stay(BaseModel):
    key: str
    name: str
    entered_at: datetime
    exited_at: datetime | None


def _with_text(segment: dict[str, Any]) -> dict[str, Any]:
    return {**segment, "text": to_text(segment["definition"])}


@router.get("/api/v1/segments", response_model=list[Segment], summary="List saved segments")
async def list_all(ctx: Ctx) -> list[dict[str, Any]]:
    segments = await ctx.read(lambda uow, actor: list_segments(uow))
    return [_with_text(s) for s in segments]


@router.post("/api/v1/segments", status_code=201, response_model=Segment, summary="Save one")
async def create(body: SegmentIn, ctx: Ctx) -> dict[str, Any]:
    """Save a definition (JSON or text) under a key; materialise it on demand or every
    `refresh_minutes`."""
    data = body.model_dump(exclude={"text"}, exclude_unset=True)
    data["definition"] = _tree(body.definition, body.text)
    created = await ctx.write(lambda uow, actor: create_segment(uow, data, actor=actor))
    return _with_text(created)


@router.get(
    "/api/v1/segments/{key}", response_model=Segment, responses=NOT_FOUND, summary="Read one"
)
async def read(key: Key, ctx: Ctx) -> dict[str, Any]:
    return _with_text(await ctx.read(lambda uow, actor: get_segment(uow, key)))


@router.patch(
    "/api/v1/segments/{key}", response_model=Segment, responses=NOT_FOUND, summary="Change one"
)
async def change(key: Key, body: SegmentPatch, ctx: Ctx) -> dict[str, Any]:
    """A new definition takes effect at the next materialisation; the history stays."""
    data = body.model_dump(exclude={"text", "definition"}, exclude_unset=True)
    if body.definition is not None or body.text is not None:
        data["definition"] = _tree(body.definition, body.text)
    for name in ("name", "description"):
        if name in data and data[name] is None:
            del data[name]
    changed = await ctx.write(lambda uow, actor: update_segment(uow, key, data, actor=actor))
    return _with_text(changed)


@router.delete("/api/v1/segments/{key}", status_code=204, responses=NOT_FOUND, summary="Delete one")
async def remove(key: Key, ctx: Ctx) -> Response:
    """With its membership history; refused while another segment is defined on it."""
    await ctx.write(lambda uow, actor: delete_segment(uow, key, actor=actor))
    return Response(status_code=204)


@router.post(
    "/api/v1/segments/{key}/materialise",
    response_model=Materialisation,
    responses=NOT_FOUND,
    summary="Recompute its members",
)
async def materialise(key: Key, ctx: Ctx) -> dict[str, Any]:
    """Who is in it now; entries and exits since the last time are recorded (the segments its
    definition names are materialised first)."""
    return await ctx.write(lambda uow, actor: materialise_segment(uow, key, actor=actor))


@router.get(
    "/api/v1/segments/{key}/members",
    response_model=Members,
    responses=NOT_FOUND,
    summary="Its members at the last materialisation",
)
async def members(
    key: Key,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Profiles masked as the caller's role requires."""
    return await ctx.read(
        lambda uow, actor: segment_members(
            uow, key, actor=actor, settings=ctx.settings, limit=limit, cursor=cursor
        )
    )


@router.get(
    "/api/v1/segments/{key}/changes",
    response_model=Changes,
    responses=NOT_FOUND,
    summary="Who entered and who left",
)
async def changes(
    key: Key,
    ctx: Ctx,
    since: IsoDateTime,
    until: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Entries and exits recorded by materialisations from `since` (inclusive) to `until`
    (exclusive, default now), oldest first — e.g. who left the Champions this week."""
    return await ctx.read(
        lambda uow, actor: segment_changes(
            uow, key, actor=actor, since=since, until=until, limit=limit, cursor=cursor
        )
    )


@router.get(
    "/api/v1/customers/{customer_id}/segments",
    response_model=list[Stay],
    responses=NOT_FOUND,
    summary="The saved segments a person is and was in",
)
async def of_customer(customer_id: Id, ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.read(lambda uow, actor: segments_of(uow, customer_id))
