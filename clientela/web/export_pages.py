"""Exporting a saved segment's members for a purpose, from the segments page: only the people
eligible for the purpose, only the fields it uses, masked as the role requires — the same use
case as ``POST /api/v1/exports/audience``; the export is audited."""

from __future__ import annotations

import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from clientela.domain.errors import FieldError, ValidationFailed
from clientela.exports.audience import FORMATS, MEDIA_TYPES, export_audience
from clientela.segments.service import segment_member_ids
from clientela.web.i18n import N_
from clientela.web.pages import PageContext

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")


@router.post("/segments/{key}/export", response_model=None)
async def export_segment(
    key: str,
    page: PageContext,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    purpose: Annotated[str, Form(max_length=63)] = "",
    format: Annotated[str, Form(max_length=10)] = "csv",
) -> Response:
    page.check_csrf(csrf_token)
    if not _KEY.fullmatch(purpose):
        raise ValidationFailed(
            N_("Choose a purpose."), errors=[FieldError("purpose", N_("choose a registered one"))]
        )
    if format not in FORMATS:
        raise ValidationFailed(
            N_("Unknown export format."), errors=[FieldError("format", ", ".join(FORMATS))]
        )

    def use_case() -> tuple[bytes, dict[str, Any]]:
        out = io.BytesIO()
        with page.store.unit_of_work() as uow:
            summary = export_audience(
                uow,
                out,
                purpose=purpose,
                actor=page.actor,
                settings=page.settings,
                customer_ids=segment_member_ids(uow, key),
                fmt=format,
            )
            uow.commit()  # the audit entry of the export
        return out.getvalue(), summary

    content, summary = await run_in_threadpool(use_case)
    excluded = ", ".join(f"{reason}={count}" for reason, count in summary["excluded"].items())
    extension = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[format]
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{key}-{purpose}.{extension}"',
            "Clientela-Exported": str(summary["exported"]),
            "Clientela-Excluded": excluded or "none",
        },
    )
