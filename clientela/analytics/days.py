"""The days analyses are run for: a plausible range, so windows computed from them exist."""

from __future__ import annotations

from datetime import date

from clientela.domain.actor import utcnow
from clientela.domain.errors import FieldError, ValidationFailed

__all__ = ["analysis_day"]

EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)


def analysis_day(day: date | None, field: str) -> date:
    """``day``, or today (UTC); refused outside 1900–2200 naming the field."""
    chosen = day or utcnow().date()
    if not EARLIEST <= chosen <= LATEST:
        raise ValidationFailed(
            "The day is out of range.",
            errors=[FieldError(field, "must be between 1900-01-01 and 2200-12-31", "range")],
        )
    return chosen
