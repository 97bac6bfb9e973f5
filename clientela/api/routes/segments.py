"""/api/v1/segments: preview a definition (count and a sample of members)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from clientela.api.deps import Ctx
from clientela.api.problems import PROBLEM_RESPONSES
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.domain.segment_text import from_text
from clientela.segments.service import preview_segment

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


@router.post("/api/v1/segments/preview", response_model=PreviewOut, summary="Count a segment")
async def preview(body: PreviewIn, ctx: Ctx) -> dict[str, Any]:
    """How many active customers the definition selects, and a few of them (masked as the
    caller's role requires). Invalid definitions are refused naming the node."""
    if (body.definition is None) == (body.text is None):
        raise ValidationFailed(
            "Give the definition one way.",
            errors=[FieldError("definition", "exactly one of definition and text")],
        )
    tree = body.definition if body.text is None else from_text(body.text)
    return await ctx.read(
        lambda uow, actor: preview_segment(
            uow, tree, actor=actor, settings=ctx.settings, sample=body.sample
        )
    )
