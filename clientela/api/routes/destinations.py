"""/api/v1/destinations: webhooks that receive audience exports (see exports/destinations.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from clientela.api.deps import Ctx
from clientela.api.problems import NOT_FOUND, PROBLEM_RESPONSES
from clientela.exports.destinations import (
    create_destination,
    delete_destination,
    list_destinations,
)

router = APIRouter(tags=["exports"], responses=PROBLEM_RESPONSES)

Key = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,63}$")]


class DestinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: StrictStr = Field(pattern=r"^[a-z0-9_]{1,63}$")
    url: StrictStr = Field(max_length=2000, description="https:// (http:// only to localhost)")
    batch_size: StrictInt = Field(500, ge=1, le=10_000, description="Records per request")
    secret: StrictStr | None = Field(
        None, min_length=24, max_length=200, description="Signing secret; one is made if empty"
    )


class Destination(BaseModel):
    key: str
    kind: str
    url: str
    batch_size: int
    created_by: str
    created_at: datetime
    last_delivery_at: datetime | None
    last_delivery: dict[str, Any] | None


class CreatedDestination(Destination):
    secret: str = Field(description="Shown this once: the receiver checks signatures with it")


@router.get("/api/v1/destinations", response_model=list[Destination], summary="List them")
async def list_all(ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.read(lambda uow, actor: list_destinations(uow))


@router.post(
    "/api/v1/destinations",
    status_code=201,
    response_model=CreatedDestination,
    summary="Add a webhook destination",
)
async def create(body: DestinationIn, ctx: Ctx) -> dict[str, Any]:
    """Audiences are POSTed as signed JSON batches (`Clientela-Signature: t=…,v1=<HMAC-SHA256
    of "t.body">`); the secret is returned this once."""
    data = body.model_dump(exclude_none=True)
    return await ctx.write(lambda uow, actor: create_destination(uow, data, actor=actor))


@router.delete(
    "/api/v1/destinations/{key}", status_code=204, responses=NOT_FOUND, summary="Remove one"
)
async def remove(key: Key, ctx: Ctx) -> Response:
    await ctx.write(lambda uow, actor: delete_destination(uow, key, actor=actor))
    return Response(status_code=204)
