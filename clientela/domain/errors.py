"""The one error tree of Clientela.

Every interface maps these in one place: problem+json for the API, an HTML page for the UI and a
non-zero exit for the CLI. Messages never contain personal data: they name fields and rows, not
values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "ClientelaError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "InvalidValue",
    "NotFound",
    "PayloadTooLarge",
    "StoreNotReady",
    "Unauthorized",
    "ValidationFailed",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One offending field: where (a dotted path, optionally with a row number) and why."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class InvalidValue(ValueError):
    """Raised by a normaliser for one value; the caller knows which field it was."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ClientelaError(Exception):
    """Base of every error Clientela reports to a person or a client."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Iterable[FieldError] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: tuple[FieldError, ...] = tuple(errors)
        self.extra: dict[str, Any] = dict(extra or {})


class BadRequest(ClientelaError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class Unauthorized(ClientelaError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(ClientelaError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(ClientelaError):
    status = 404
    code = "not_found"
    title = "Not found"


class MergedAway(ClientelaError):
    """The profile was merged into another one; ``extra["merged_into"]`` names the survivor."""

    status = 301
    code = "merged"
    title = "Merged into another customer"


class Conflict(ClientelaError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(ClientelaError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class ValidationFailed(ClientelaError):
    status = 422
    code = "validation_failed"
    title = "Invalid input"


class StoreNotReady(ClientelaError):
    status = 503
    code = "store_not_ready"
    title = "Store not ready"


@dataclass
class ErrorCollector:
    """Collects field errors so that one response names every offending field at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(field_name, message, code))

    def raise_if_any(self, detail: str = "Some fields are invalid.") -> None:
        if self.errors:
            raise ValidationFailed(detail, errors=self.errors)
