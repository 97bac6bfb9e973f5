"""/api/v1/customers: profiles, search, look-up by identity, timeline."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response, status

from clientela.api.deps import Reader, SettingsDep, UoW, Writer
from clientela.api.problems import CONFLICT, NOT_FOUND, PROBLEM_RESPONSES
from clientela.api.schemas import (
    CustomerCreate,
    CustomerList,
    CustomerPublic,
    CustomerUpdate,
    IsoDateTime,
    LookupRequest,
    SearchRequest,
    SearchResults,
    Timeline,
)
from clientela.customers import service
from clientela.domain.errors import BadRequest, FieldError

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=PROBLEM_RESPONSES)

CustomerId = Annotated[str, Path(description="Customer id (UUID)", pattern=r"^[0-9a-fA-F-]{36}$")]


def _etag(profile: dict[str, Any]) -> str:
    return f'W/"{profile["version"]}"'


def _version_from(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequest(
            'If-Match must be an ETag this API gave out, such as W/"3".',
            errors=[FieldError("header.if-match", "is not a version tag")],
        )
    return int(text)


@router.get("", response_model=CustomerList, summary="List customers")
def list_customers(
    uow: UoW,
    actor: Reader,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=10000)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status_: Annotated[Literal["active", "merged", "erased"], Query(alias="status")] = "active",
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    created_after: IsoDateTime | None = None,
    created_before: IsoDateTime | None = None,
    updated_after: IsoDateTime | None = None,
) -> dict[str, Any]:
    page = service.list_customers(
        uow,
        actor=actor,
        settings=settings,
        limit=min(limit, settings.max_page_size),
        cursor=cursor,
        status=status_,
        country=country.upper() if country else None,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
    )
    uow.commit()
    return {"data": page.data, "next_cursor": page.next_cursor}


@router.post(
    "",
    response_model=CustomerPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a customer",
    responses=CONFLICT,
)
def create_customer(
    body: CustomerCreate, uow: UoW, actor: Writer, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    profile = service.create_customer(
        uow, body.model_dump(exclude_unset=True), actor=actor, settings=settings
    )
    uow.commit()
    response.headers["Location"] = f"/api/v1/customers/{profile['id']}"
    response.headers["ETag"] = _etag(profile)
    return profile


@router.post("/search", response_model=SearchResults, summary="Search customers")
def search_customers(
    body: SearchRequest, uow: UoW, actor: Reader, settings: SettingsDep
) -> dict[str, Any]:
    """Name prefix ("mar sil"), e-mail, phone in any common format, or CPF.

    A POST, so that what is searched for never appears in URLs or access logs.
    """
    results = service.search_customers(
        uow, body.q, actor=actor, settings=settings, limit=body.limit
    )
    uow.commit()
    return {"data": results, "count": len(results)}


@router.post(
    "/lookup", response_model=CustomerPublic, summary="Find by identity", responses=NOT_FOUND
)
def lookup_customer(
    body: LookupRequest, uow: UoW, actor: Reader, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    profile = service.lookup_customer(uow, body.kind, body.value, actor=actor, settings=settings)
    uow.commit()
    response.headers["ETag"] = _etag(profile)
    return profile


@router.get(
    "/{customer_id}", response_model=CustomerPublic, summary="Get a customer", responses=NOT_FOUND
)
def get_customer(
    customer_id: CustomerId, uow: UoW, actor: Reader, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    profile = service.get_customer(uow, customer_id, actor=actor, settings=settings)
    uow.commit()
    response.headers["ETag"] = _etag(profile)
    return profile


@router.patch(
    "/{customer_id}",
    response_model=CustomerPublic,
    summary="Change a customer",
    responses={**NOT_FOUND, **CONFLICT},
)
def update_customer(
    customer_id: CustomerId,
    body: CustomerUpdate,
    uow: UoW,
    actor: Writer,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> dict[str, Any]:
    """Partial update: omitted fields stay, `null` clears. Send `If-Match` with the ETag you
    read to refuse the change (409) if someone else changed the profile in between."""
    profile = service.update_customer(
        uow,
        customer_id,
        body.model_dump(exclude_unset=True),
        actor=actor,
        settings=settings,
        expected_version=_version_from(if_match),
    )
    uow.commit()
    response.headers["ETag"] = _etag(profile)
    return profile


@router.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a customer",
    responses=NOT_FOUND,
)
def delete_customer(customer_id: CustomerId, uow: UoW, actor: Writer) -> Response:
    service.delete_customer(uow, customer_id, actor=actor)
    uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{customer_id}/timeline",
    response_model=Timeline,
    summary="Events and orders, newest first",
    responses=NOT_FOUND,
)
def customer_timeline(
    customer_id: CustomerId,
    uow: UoW,
    actor: Reader,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    kind: Annotated[list[Literal["event", "order"]] | None, Query()] = None,
) -> dict[str, Any]:
    page = service.timeline(
        uow,
        customer_id,
        actor=actor,
        settings=settings,
        limit=limit,
        cursor=cursor,
        kinds=tuple(kind) if kind else ("event", "order"),
    )
    uow.commit()
    return {"data": page.data, "next_cursor": page.next_cursor}
