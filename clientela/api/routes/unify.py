"""/api/v1/dedupe and /api/v1/merges: duplicate detection, the review queue, merge and unmerge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from clientela.api.deps import Ctx
from clientela.api.problems import CONFLICT, NOT_FOUND, PROBLEM_RESPONSES
from clientela.dedupe import review
from clientela.dedupe.service import run_dedupe
from clientela.identity.merging import merge_profiles, unmerge

router = APIRouter(tags=["unify"], responses=PROBLEM_RESPONSES)

Id = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]


class DedupeRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_merge: StrictBool = Field(
        False, description="Merge clusters above the auto-merge threshold"
    )
    since: AwareDatetime | None = Field(
        None, description="Only match profiles created or changed since (incremental run)"
    )
    retrain: StrictBool = Field(False, description="Train a new model version first")


class DedupeRun(BaseModel):
    run_id: str
    mode: Literal["full", "incremental"]
    model_version: int
    trained: bool
    profiles: int
    new_profiles: int
    pairs_scored: int
    clusters_merged: int
    merges: int
    queued: int
    already_decided: int
    seconds: dict[str, float]


class Candidate(BaseModel):
    id: str
    left_id: str
    right_id: str
    probability: float
    match_weight: float
    explanation: dict[str, dict[str, Any]] = Field(
        description="Per comparison: the level the pair fell in and its match weight"
    )
    status: Literal["pending", "rejected", "merged"]
    model_version: int
    merge_id: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class CandidateList(BaseModel):
    data: list[Candidate]
    next_cursor: str | None
    counts: dict[str, int]


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survivor_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    merged_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")


class MergeResult(BaseModel):
    merge_id: str
    survivor_id: str
    merged_id: str


class UnmergeResult(BaseModel):
    merge_id: str
    survivor_id: str
    restored_id: str
    kept_on_survivor: list[str] = Field(
        description="Fields changed on the survivor after the merge, kept there"
    )
    events_returned: int


@router.post("/api/v1/dedupe/runs", response_model=DedupeRun, summary="Run duplicate detection")
async def create_run(body: DedupeRunRequest, ctx: Ctx) -> dict[str, Any]:
    """Scores pairs with the saved model (trained first when there is none), merges sure clusters
    when `auto_merge`, and queues uncertain pairs for review. Runs to the end before answering."""
    summary = await ctx.apart(
        lambda: run_dedupe(
            ctx.store,
            settings=ctx.settings,
            actor=ctx.actor,
            auto_merge=body.auto_merge,
            since=body.since,
            retrain=body.retrain,
        ),
    )
    return summary.as_dict()


@router.get("/api/v1/dedupe/candidates", response_model=CandidateList, summary="The review queue")
async def list_candidates(
    ctx: Ctx,
    status_: Annotated[Literal["pending", "rejected", "merged"], Query(alias="status")] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=36)] = None,
) -> dict[str, Any]:
    def use_case(uow: Any, actor: Any) -> dict[str, Any]:
        rows, next_cursor = review.list_candidates(uow, status=status_, limit=limit, cursor=cursor)
        return {"data": rows, "next_cursor": next_cursor, "counts": review.queue_counts(uow)}

    return await ctx.read(use_case)


async def _decide(ctx: Ctx, candidate_id: str, *, accept: bool) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: review.decide(
            uow, candidate_id, accept=accept, actor=actor, settings=ctx.settings
        ),
    )


@router.post(
    "/api/v1/dedupe/candidates/{candidate_id}/accept",
    response_model=Candidate,
    summary="Accept a pair: merge the two customers",
    responses={**NOT_FOUND, **CONFLICT},
)
async def accept_candidate(candidate_id: Id, ctx: Ctx) -> dict[str, Any]:
    return await _decide(ctx, candidate_id, accept=True)


@router.post(
    "/api/v1/dedupe/candidates/{candidate_id}/reject",
    response_model=Candidate,
    summary="Reject a pair: two different people, never proposed again",
    responses={**NOT_FOUND, **CONFLICT},
)
async def reject_candidate(candidate_id: Id, ctx: Ctx) -> dict[str, Any]:
    return await _decide(ctx, candidate_id, accept=False)


@router.post(
    "/api/v1/merges",
    response_model=MergeResult,
    status_code=status.HTTP_201_CREATED,
    summary="Merge two customers",
    responses={**NOT_FOUND, **CONFLICT},
)
async def create_merge(body: MergeRequest, ctx: Ctx) -> dict[str, Any]:
    merge_id = await ctx.write(
        lambda uow, actor: merge_profiles(
            uow,
            body.survivor_id,
            body.merged_id,
            reason="manual",
            actor=actor,
            rules=ctx.settings.survivorship,
            settings=ctx.settings,
        ),
    )
    return {"merge_id": merge_id, "survivor_id": body.survivor_id, "merged_id": body.merged_id}


@router.post(
    "/api/v1/merges/{merge_id}/undo",
    response_model=UnmergeResult,
    summary="Undo a merge (unmerge)",
    responses={**NOT_FOUND, **CONFLICT},
)
async def undo_merge(merge_id: Id, ctx: Ctx) -> dict[str, Any]:
    result = await ctx.write(
        lambda uow, actor: unmerge(uow, merge_id, actor=actor, settings=ctx.settings)
    )
    return {
        "merge_id": result.merge_id,
        "survivor_id": result.survivor_id,
        "restored_id": result.restored_id,
        "kept_on_survivor": result.kept_on_survivor,
        "events_returned": result.events_returned,
    }
