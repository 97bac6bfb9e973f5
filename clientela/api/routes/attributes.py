"""/api/v1/attributes: the attribute registry (core fields are listed, not editable)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from clientela.api.deps import Ctx
from clientela.api.problems import CONFLICT, NOT_FOUND, PROBLEM_RESPONSES
from clientela.api.schemas import AttributeCreate, AttributeList, AttributePublic, AttributeUpdate
from clientela.attributes import service
from clientela.domain.attributes import AttributeDefinition

router = APIRouter(prefix="/api/v1/attributes", tags=["attributes"], responses=PROBLEM_RESPONSES)

AttributeKey = Annotated[str, Path(max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]


def _public(definition: AttributeDefinition) -> dict[str, Any]:
    return {
        "key": definition.key,
        "type": definition.type,
        "category": definition.category,
        "sensitivity": definition.sensitivity,
        "description": definition.description,
        "enum_values": list(definition.enum_values),
        "purposes": list(definition.purposes),
        "retention_days": definition.retention_days,
        "core": definition.core,
        "writable": definition.writable,
    }


@router.get("", response_model=AttributeList, summary="List core fields and custom attributes")
async def list_attributes(ctx: Ctx) -> dict[str, Any]:
    definitions = await ctx.read(lambda uow, actor: service.list_attributes(uow))
    data = [_public(d) for d in definitions]
    return {"data": data, "count": len(data)}


@router.post(
    "",
    response_model=AttributePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Declare a custom attribute",
    responses=CONFLICT,
)
async def define_attribute(body: AttributeCreate, ctx: Ctx) -> dict[str, Any]:
    proposed = AttributeDefinition(
        key=body.key,
        type=body.type,
        category=body.category,
        sensitivity=body.sensitivity,
        description=body.description,
        enum_values=tuple(body.enum_values),
        purposes=tuple(body.purposes),
        retention_days=body.retention_days,
    )
    definition = await ctx.write(
        lambda uow, actor: service.define_attribute(uow, proposed, actor=actor)
    )
    return _public(definition)


@router.get("/{key}", response_model=AttributePublic, responses=NOT_FOUND, summary="Get one")
async def get_attribute(key: AttributeKey, ctx: Ctx) -> dict[str, Any]:
    return _public(await ctx.read(lambda uow, actor: service.get_attribute(uow, key)))


@router.patch(
    "/{key}",
    response_model=AttributePublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Change a custom attribute's description, category, sensitivity, values",
)
async def update_attribute(key: AttributeKey, body: AttributeUpdate, ctx: Ctx) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    definition = await ctx.write(
        lambda uow, actor: service.update_attribute(uow, key, changes, actor=actor)
    )
    return _public(definition)


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Remove a custom attribute no customer uses",
)
async def delete_attribute(key: AttributeKey, ctx: Ctx) -> Response:
    await ctx.write(lambda uow, actor: service.delete_attribute(uow, key, actor=actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
