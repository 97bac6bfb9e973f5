"""/api/v1/attributes: the attribute registry (core fields are listed, not editable)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from clientela.api.deps import Admin, Reader, UoW
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
def list_attributes(uow: UoW, actor: Reader) -> dict[str, Any]:
    data = [_public(d) for d in service.list_attributes(uow)]
    return {"data": data, "count": len(data)}


@router.post(
    "",
    response_model=AttributePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Declare a custom attribute",
    responses=CONFLICT,
)
def define_attribute(body: AttributeCreate, uow: UoW, actor: Admin) -> dict[str, Any]:
    definition = service.define_attribute(
        uow,
        AttributeDefinition(
            key=body.key,
            type=body.type,
            category=body.category,
            sensitivity=body.sensitivity,
            description=body.description,
            enum_values=tuple(body.enum_values),
            purposes=tuple(body.purposes),
            retention_days=body.retention_days,
        ),
        actor=actor,
    )
    uow.commit()
    return _public(definition)


@router.get("/{key}", response_model=AttributePublic, responses=NOT_FOUND, summary="Get one")
def get_attribute(key: AttributeKey, uow: UoW, actor: Reader) -> dict[str, Any]:
    return _public(service.get_attribute(uow, key))


@router.patch(
    "/{key}",
    response_model=AttributePublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Change a custom attribute's description, category, sensitivity, values",
)
def update_attribute(
    key: AttributeKey, body: AttributeUpdate, uow: UoW, actor: Admin
) -> dict[str, Any]:
    definition = service.update_attribute(
        uow, key, body.model_dump(exclude_unset=True, exclude_none=True), actor=actor
    )
    uow.commit()
    return _public(definition)


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Remove a custom attribute no customer uses",
)
def delete_attribute(key: AttributeKey, uow: UoW, actor: Admin) -> Response:
    service.delete_attribute(uow, key, actor=actor)
    uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
