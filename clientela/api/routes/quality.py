"""/api/v1/quality: the data quality report of the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clientela.api.deps import Ctx
from clientela.api.problems import PROBLEM_RESPONSES
from clientela.quality.service import quality_report

router = APIRouter(prefix="/api/v1/quality", tags=["quality"], responses=PROBLEM_RESPONSES)


class Examples(BaseModel):
    count: int
    examples: list[str] = Field(description="Ids of some profiles concerned (never values)")


class SourceQuality(BaseModel):
    profiles: int
    mean_score: float


class QualityReport(BaseModel):
    generated_at: datetime
    profiles: int
    mean_score: float | None
    score_distribution: dict[str, int]
    mean_parts: dict[str, float]
    missing: dict[str, Examples]
    invalid: dict[str, Examples]
    stale: dict[str, Examples]
    inconsistent: dict[str, Examples]
    suspected_duplicates: Examples
    by_source: dict[str, SourceQuality]
    key_fields: list[str]


@router.get("/report", response_model=QualityReport, summary="Data quality report")
async def report(ctx: Ctx) -> dict[str, Any]:
    """Invalid e-mails and phones, missing key fields, stale and inconsistent values, suspected
    duplicates, the distribution of scores, and scores by source."""
    return await ctx.read(
        lambda uow, actor: quality_report(uow, settings=ctx.settings, actor=actor)
    )
