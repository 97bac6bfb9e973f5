"""One place that turns every error into RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from clientela.domain.errors import ClientelaError, FieldError, MergedAway

__all__ = ["PROBLEM_RESPONSES", "Problem", "install_problem_handlers", "problem_response"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("clientela.api")


class ProblemField(BaseModel):
    field: str = Field(description="Where: a dotted path into the request, e.g. `attributes.tier`")
    message: str = Field(description="Why it was refused")
    code: str = Field(description="A stable machine-readable reason")


class Problem(BaseModel):
    """RFC 9457 problem details, with the list of offending fields."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    errors: list[ProblemField] = Field(default_factory=list)


def _problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None,
    errors: list[dict[str, str]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:clientela:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "errors": errors,
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = _problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        errors=errors or [],
        extra=extra,
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _from_clientela_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClientelaError)
    headers = {"WWW-Authenticate": 'Bearer realm="clientela"'} if exc.status == 401 else None
    if isinstance(exc, MergedAway):
        # Where the person lives now: the same path with the survivor's id.
        survivor = str(exc.extra["merged_into"])
        headers = {"Location": request.url.path.replace(_last_id(request.url.path), survivor)}
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=[error.as_dict() for error in exc.errors],
        extra=exc.extra,
        headers=headers,
    )


def _last_id(path: str) -> str:
    ids = [part for part in path.split("/") if len(part) == 36 and part.count("-") == 4]
    return ids[-1] if ids else ""


_PYDANTIC_MESSAGES = {
    "extra_forbidden": ("is not a known field", "unknown_field"),
    "missing": ("is required", "required"),
    "string_too_long": (None, "too_long"),
    "string_type": ("must be text", "type"),
    "int_type": ("must be a whole number", "type"),
    "bool_type": ("must be true or false", "type"),
    "list_type": ("must be a list", "type"),
    "dict_type": ("must be an object", "type"),
    "model_type": ("must be an object", "type"),
}


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        where = location[0] if location else "body"
        path_parts = location[1:] if where in ("body", "query", "path", "header") else location
        path = ".".join(path_parts) or where
        if where in ("query", "path", "header"):
            path = f"{where}.{path}"
        message, code = _PYDANTIC_MESSAGES.get(error.get("type", ""), (None, "invalid"))
        # Pydantic's own message names constraints, never the input, so it is safe to show.
        errors.append(FieldError(path, message or str(error.get("msg", "is invalid")), code))
    return errors


def _from_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(error.get("type") == "json_invalid" for error in raw):
        return problem_response(
            request,
            status=400,
            code="malformed_json",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
            errors=[{"field": "body", "message": "is not valid JSON", "code": "malformed_json"}],
        )
    errors = _field_errors(exc)
    return problem_response(
        request,
        status=422,
        code="validation_failed",
        title="Invalid input",
        detail=f"{len(errors)} field(s) are invalid.",
        errors=[error.as_dict() for error in errors],
    )


def _from_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: ("not_found", "Not found"), 405: ("method_not_allowed", "Method not allowed")}
    code, title = titles.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


def _from_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The log names the error type and the request id only: exception text can carry values.
    logger.error(
        "unhandled %s on %s %s (request %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        getattr(request.state, "request_id", "-"),
    )
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal error",
        detail="Something went wrong on our side; nothing was changed. The request id helps "
        "the administrator find it in the log.",
        extra={"request_id": getattr(request.state, "request_id", None)},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientelaError, _from_clientela_error)
    app.add_exception_handler(RequestValidationError, _from_validation_error)
    app.add_exception_handler(StarletteHTTPException, _from_http_exception)
    app.add_exception_handler(Exception, _from_unexpected)


def problem_description(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem+json answer."""
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_description("Malformed request (bad JSON or cursor)"),
    401: problem_description("Missing, invalid, revoked or expired API key"),
    403: problem_description("The key's scope does not allow this"),
    422: problem_description("Invalid input, with every offending field"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_description("No such resource")}
MOVED: dict[int | str, dict[str, Any]] = {
    301: problem_description(
        "Merged into another customer: `Location` and `merged_into` name the survivor"
    )
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: problem_description("Conflicts with stored data (duplicate identity, stale version)")
}
