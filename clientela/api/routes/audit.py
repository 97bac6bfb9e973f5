"""/api/v1/audit: the trail for the DPO (search, verification). Never values, only fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clientela.api.deps import Ctx
from clientela.api.problems import PROBLEM_RESPONSES
from clientela.api.schemas import IsoDateTime
from clientela.audit import service

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES)


class AuditEntry(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    customer_id: str | None
    fields: list[str]
    purpose: str | None
    request_id: str | None
    ip: str | None
    hash: str | None


class AuditPage(BaseModel):
    data: list[AuditEntry]
    next_after: int | None


class ChainVerification(BaseModel):
    ok: bool
    entries: int
    unsealed: int
    checkpoints: int
    first_bad: int | None
    problem: str | None


@router.get("/api/v1/audit", response_model=AuditPage, summary="Search the audit trail")
async def search(
    ctx: Ctx,
    customer_id: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F-]{36}$")] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    start: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Entries after this seq")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Oldest first; page with `after` = the last `seq` seen."""

    def use_case(uow: Any, who: Any) -> dict[str, Any]:
        rows = service.search(
            uow,
            who,
            customer_id=customer_id,
            by=actor,
            start=start,
            end=end,
            after=after,
            limit=limit,
        )
        return {"data": rows, "next_after": rows[-1]["seq"] if len(rows) == limit else None}

    return await ctx.read(use_case)


@router.get(
    "/api/v1/audit/verification", response_model=ChainVerification, summary="Verify the chain"
)
async def verification(ctx: Ctx) -> dict[str, Any]:
    return await ctx.read(lambda uow, who: service.verify_chain(uow).as_dict())
