"""/api/v1/customers: profiles, search, look-up by identity, timeline."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Path, Query, Response, status

from clientela.api.deps import Ctx
from clientela.api.problems import CONFLICT, MOVED, NOT_FOUND, PROBLEM_RESPONSES
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
async def list_customers(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=10000)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status_: Annotated[Literal["active", "merged", "erased"], Query(alias="status")] = "active",
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    created_after: IsoDateTime | None = None,
    created_before: IsoDateTime | None = None,
    updated_after: IsoDateTime | None = None,
) -> dict[str, Any]:
    page = await ctx.read(
        lambda uow, actor: service.list_customers(
            uow,
            actor=actor,
            settings=ctx.settings,
            limit=min(limit, ctx.settings.max_page_size),
            cursor=cursor,
            status=status_,
            country=country.upper() if country else None,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
        ),
    )
    return {"data": page.data, "next_cursor": page.next_cursor}


@router.post(
    "",
    response_model=CustomerPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a customer",
    responses=CONFLICT,
)
async def create_customer(body: CustomerCreate, ctx: Ctx, response: Response) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    profile = await ctx.write(
        lambda uow, actor: service.create_customer(uow, data, actor=actor, settings=ctx.settings),
    )
    response.headers["Location"] = f"/api/v1/customers/{profile['id']}"
    response.headers["ETag"] = _etag(profile)
    return profile


@router.post("/search", response_model=SearchResults, summary="Search customers")
async def search_customers(body: SearchRequest, ctx: Ctx) -> dict[str, Any]:
    """Name prefix ("mar sil"), e-mail, phone in any common format, or CPF.

    A POST, so that what is searched for never appears in URLs or access logs.
    """
    results = await ctx.read(
        lambda uow, actor: service.search_customers(
            uow, body.q, actor=actor, settings=ctx.settings, limit=body.limit
        ),
    )
    return {"data": results, "count": len(results)}


@router.post(
    "/lookup", response_model=CustomerPublic, summary="Find by identity", responses=NOT_FOUND
)
async def lookup_customer(body: LookupRequest, ctx: Ctx) -> Response:
    profile = await ctx.read(
        lambda uow, actor: service.lookup_customer(
            uow, body.kind, body.value, actor=actor, settings=ctx.settings
        ),
    )
    return _json_profile(profile)


def _json_profile(profile: dict[str, Any]) -> Response:
    """The profile serialised directly: the service builds exactly ``CustomerPublic`` (the
    schemathesis tests check every response against it), so re-validating it cost a tenth of
    the request for nothing."""
    return Response(
        orjson.dumps(profile), media_type="application/json", headers={"ETag": _etag(profile)}
    )


@router.get(
    "/{customer_id}",
    response_model=CustomerPublic,
    summary="Get a customer",
    responses={**NOT_FOUND, **MOVED},
)
async def get_customer(customer_id: CustomerId, ctx: Ctx) -> Response:
    profile = await ctx.read(
        lambda uow, actor: service.get_customer(
            uow, customer_id, actor=actor, settings=ctx.settings
        ),
    )
    return _json_profile(profile)


@router.patch(
    "/{customer_id}",
    response_model=CustomerPublic,
    summary="Change a customer",
    responses={**NOT_FOUND, **CONFLICT},
)
async def update_customer(
    customer_id: CustomerId,
    body: CustomerUpdate,
    ctx: Ctx,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> dict[str, Any]:
    """Partial update: omitted fields stay, `null` clears. Send `If-Match` with the ETag you
    read to refuse the change (409) if someone else changed the profile in between."""
    data = body.model_dump(exclude_unset=True)
    expected = _version_from(if_match)
    profile = await ctx.write(
        lambda uow, actor: service.update_customer(
            uow, customer_id, data, actor=actor, settings=ctx.settings, expected_version=expected
        ),
    )
    response.headers["ETag"] = _etag(profile)
    return profile


@router.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a customer",
    responses=NOT_FOUND,
)
async def delete_customer(customer_id: CustomerId, ctx: Ctx) -> Response:
    await ctx.write(
        lambda uow, actor: service.delete_customer(
            uow, customer_id, actor=actor, settings=ctx.settings
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{customer_id}/timeline",
    response_model=Timeline,
    summary="Events and orders, newest first",
    responses=NOT_FOUND,
)
async def customer_timeline(
    customer_id: CustomerId,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    kind: Annotated[list[Literal["event", "order"]] | None, Query()] = None,
) -> dict[str, Any]:
    kinds = tuple(kind) if kind else ("event", "order")
    page = await ctx.read(
        lambda uow, actor: service.timeline(
            uow,
            customer_id,
            actor=actor,
            settings=ctx.settings,
            limit=limit,
            cursor=cursor,
            kinds=kinds,
        ),
    )
    return {"data": page.data, "next_cursor": page.next_cursor}
