"""Amounts of money: written in major units by people and apps, stored in minor units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from clientela.domain.errors import InvalidValue

__all__ = ["to_minor_units"]


def to_minor_units(value: Any, exponent: int) -> int:
    """``"12.50"``, ``12.5`` or ``"12,50"`` (Brazil, Russia) to 1250 for a two-digit currency."""
    text = str(value).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidValue("not an amount", "invalid_amount") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidValue("must be a positive amount", "invalid_amount")
    return int((amount * (10**exponent)).to_integral_value())
