"""/api/v1/analytics: RFM, lifetime value, churn risk, cohorts, and a person's scores."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from clientela.analytics.churn import score_churn
from clientela.analytics.clv import fit_clv, score_clv
from clientela.analytics.cohorts import cohort_matrix
from clientela.analytics.recommend import compute_recommendations
from clientela.analytics.rfm import compute_rfm
from clientela.api.deps import Ctx
from clientela.api.problems import NOT_FOUND, PROBLEM_RESPONSES
from clientela.api.schemas import IsoDay
from clientela.domain.errors import NotFound

router = APIRouter(tags=["analytics"], responses=PROBLEM_RESPONSES)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RfmIn(_Body):
    as_of: IsoDay | None = Field(None, description="Score as of this day (default today)")


class ClvFitIn(_Body):
    until: IsoDay | None = Field(None, description="Last day of the observation")
    time_unit: Literal["day", "week"] = "week"


class ClvScoreIn(ClvFitIn):
    horizon: StrictInt | StrictFloat = Field(52, gt=0, le=520, description="Time units ahead")


class ChurnIn(_Body):
    as_of: IsoDay | None = None
    horizon_days: StrictInt = Field(90, ge=7, le=730)


@router.post("/api/v1/analytics/rfm", summary="Score RFM for every customer with orders")
async def rfm(body: RfmIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(lambda uow, actor: compute_rfm(uow, as_of=body.as_of))


@router.post("/api/v1/analytics/clv/fit", summary="Fit BG/NBD and Gamma-Gamma on the orders")
async def clv_fit(body: ClvFitIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.read(
        lambda uow, actor: fit_clv(
            uow, settings=ctx.settings, until=body.until, unit=body.time_unit
        )
    )


@router.post("/api/v1/analytics/clv/scores", summary="Store each customer's lifetime value")
async def clv_scores(body: ClvScoreIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: score_clv(
            uow,
            settings=ctx.settings,
            horizon=float(body.horizon),
            until=body.until,
            unit=body.time_unit,
        )
    )


@router.post("/api/v1/analytics/churn", summary="Check the churn model and store risks")
async def churn(body: ChurnIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: score_churn(uow, as_of=body.as_of, horizon_days=body.horizon_days)
    )


class RecommendIn(_Body):
    as_of: IsoDay | None = None
    top: StrictInt = Field(10, ge=1, le=100, description="Products per customer")
    evaluate: StrictBool = Field(True, description="Measure the hit rate on held-out last orders")


@router.post(
    "/api/v1/analytics/recommendations", summary="Store each customer's next best products"
)
async def recommendations(body: RecommendIn, ctx: Ctx) -> dict[str, Any]:
    """Item-to-item similarity over who bought what; each person's top products among those
    they have not bought. The evaluation compares its hit rate on everyone's last order with
    the most popular products'."""
    return await ctx.write(
        lambda uow, actor: compute_recommendations(
            uow, as_of=body.as_of, top=body.top, evaluate=body.evaluate
        )
    )


@router.get("/api/v1/analytics/cohorts", summary="Retention and revenue by first-order month")
async def cohorts(
    ctx: Ctx, until: Annotated[IsoDay | None, Query(description="Last day observed")] = None
) -> dict[str, Any]:
    return await ctx.read(
        lambda uow, actor: cohort_matrix(
            uow, until=until, minor_per_major=10**ctx.settings.currency_exponent
        )
    )


@router.get(
    "/api/v1/customers/{customer_id}/scores",
    summary="A person's RFM, lifetime value, churn risk and recommended products",
    responses=NOT_FOUND,
)
async def scores(
    customer_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")], ctx: Ctx
) -> dict[str, Any]:
    def use_case(uow: Any, actor: Any) -> dict[str, Any]:
        found = uow.analytics.scores_of(customer_id)
        if found is None:
            raise NotFound("No scores for this customer (no orders, or not scored yet).")
        return dict(found)

    return await ctx.read(use_case)
