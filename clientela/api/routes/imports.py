"""/api/v1/imports: upload an export of another system and get the import's summary."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from clientela.api.deps import Ctx
from clientela.api.problems import NOT_FOUND, PROBLEM_RESPONSES, problem_description
from clientela.domain.errors import PayloadTooLarge
from clientela.ingest import jobs

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses=PROBLEM_RESPONSES)

MAX_UPLOAD = 200 * 1024 * 1024
ImportId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]


class ImportPublic(BaseModel):
    id: str
    kind: str
    source: str
    file_name: str
    status: str
    actor: str
    summary: dict[str, Any] | None
    has_rejects: bool
    created_at: Any
    finished_at: Any


class ImportList(BaseModel):
    data: list[ImportPublic]
    count: int


@router.post(
    "",
    response_model=ImportPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Import a file (CSV, TSV, JSON Lines, XLSX, Parquet)",
    responses={413: problem_description("The file is over 200 MB")},
)
async def create_import(
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="The export to import")],
    kind: Annotated[Literal["customers", "transactions", "events"], Form()] = "customers",
    source: Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[^:]+$")] = "import",
    id_column: Annotated[str | None, Form(max_length=200)] = None,
) -> dict[str, Any]:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge("The file is over the limit of 200 MB.")
    return await run_in_threadpool(
        jobs.run_import,
        ctx.store,
        data,
        file.filename or "upload.csv",
        kind=kind,
        source=source,
        id_column=id_column or None,
        settings=ctx.settings,
        actor=ctx.actor,
    )


@router.get("", response_model=ImportList, summary="Past imports, newest first")
async def list_imports(ctx: Ctx) -> dict[str, Any]:
    data = await run_in_threadpool(jobs.list_imports, ctx.store)
    return {"data": data, "count": len(data)}


@router.get(
    "/{import_id}",
    response_model=ImportPublic,
    responses=NOT_FOUND,
    summary="One import and its summary",
)
async def get_import(import_id: ImportId, ctx: Ctx) -> dict[str, Any]:
    return await run_in_threadpool(jobs.get_import, ctx.store, import_id)


@router.get(
    "/{import_id}/rejects",
    responses={**NOT_FOUND, 200: {"content": {"text/csv": {}}, "description": "Refused rows"}},
    response_class=Response,
    summary="Download the refused rows (row number, reason, original values)",
)
async def import_rejects(import_id: ImportId, ctx: Ctx) -> Response:
    content = await run_in_threadpool(jobs.rejects_of, ctx.store, import_id, actor=ctx.actor)
    return Response(
        content,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{import_id}-rejects.csv"'},
    )
