"""The Segment HTTP Tracking API: /v1/identify, track, page, screen, group, alias and batch.

Official and compatible client libraries post here unchanged. A 200 (exactly 200: some clients
treat other 2xx as failures) means every accepted message is committed. Messages that cannot be
stored are reported by index in the body of that 200, so clients do not retry them forever;
clients retry 429 and 5xx only.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from clientela.api.problems import PROBLEM_RESPONSES, problem_description
from clientela.domain.errors import BadRequest, FieldError, PayloadTooLarge
from clientela.domain.tracking import MESSAGE_TYPES
from clientela.ingest.service import receive

router = APIRouter(prefix="/v1", tags=["tracking"])

MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024


class Rejected(BaseModel):
    index: int
    code: str
    message: str


class TraitWarning(BaseModel):
    index: int
    field: str
    message: str


class TrackingResponse(BaseModel):
    success: bool
    accepted: int
    duplicates: int
    rejected: list[Rejected]
    warnings: list[TraitWarning]


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_RESPONSES = {
    **PROBLEM_RESPONSES,
    413: problem_description("Over 32 KB per message or 500 KB per batch"),
}


async def _payload(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit // 1024} KB.")
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = decompressor.decompress(body, limit + 1)
        except zlib.error:
            raise BadRequest("The body is not valid gzip.") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit // 1024} KB.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest(
            "The body is not valid JSON.",
            errors=[FieldError("body", "is not valid JSON", "malformed_json")],
        ) from None
    if not isinstance(payload, dict):
        raise BadRequest("The body must be a JSON object.")
    return payload


def _write_key(request: Request, payload: dict[str, Any]) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        return decoded.partition(":")[0]
    key = payload.get("writeKey")
    return key if isinstance(key, str) else ""


async def _handle(request: Request, default_type: str | None) -> dict[str, Any]:
    limit = MAX_BATCH_BYTES if default_type is None else MAX_MESSAGE_BYTES
    payload = await _payload(request, limit)
    key = _write_key(request, payload)
    if default_type is None:
        messages = payload.get("batch")
        if not isinstance(messages, list):
            raise BadRequest(
                "A batch needs a `batch` list of messages.",
                errors=[FieldError("batch", "must be a list", "type")],
            )
        sizes = [len(orjson.dumps(message)) for message in messages]
    else:
        messages, sizes = [payload], [0]
    result = await run_in_threadpool(
        receive,
        request.app.state.store,
        key,
        messages,
        settings=request.app.state.settings,
        sizes=sizes,
        default_type=default_type,
        sent_at=payload.get("sentAt"),
        gpc=request.headers.get("sec-gpc") == "1",
        request_context={
            "ip": request.client.host if request.client else None,
            "user_agent": request.headers.get("user-agent"),
            "request_id": getattr(request.state, "request_id", None),
        },
    )
    # Messages about a suppressed (erased) person are well-formed: acknowledged, not stored.
    refused = [r for r in result.rejected if r[1] != "suppressed"]
    if result.accepted == 0 and result.duplicates == 0 and refused:
        raise BadRequest(
            "No message could be stored.",
            errors=[
                FieldError(f"batch[{i}]" if default_type is None else "body", text, code)
                for i, code, text in result.rejected
            ],
        )
    return {
        "success": True,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [{"index": i, "code": c, "message": m} for i, c, m in result.rejected],
        "warnings": [{"index": i, "field": f, "message": m} for i, f, m in result.warnings],
    }


@router.post(
    "/batch",
    response_model=TrackingResponse,
    responses=_RESPONSES,
    openapi_extra=_BODY,
    summary="Several messages at once",
)
async def batch(request: Request) -> dict[str, Any]:
    return await _handle(request, None)


def _single(kind: str) -> None:
    async def endpoint(request: Request) -> dict[str, Any]:
        return await _handle(request, kind)

    endpoint.__name__ = f"track_{kind}"
    router.add_api_route(
        f"/{kind}",
        endpoint,
        methods=["POST"],
        response_model=TrackingResponse,
        responses=_RESPONSES,
        openapi_extra=_BODY,
        summary=f"One {kind} message",
    )


for _kind in MESSAGE_TYPES:
    _single(_kind)
