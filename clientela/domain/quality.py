"""Data quality of one profile: a 0-100 score and the parts it is made of.

- completeness: key fields filled, weighted by how much they matter to reach and recognise a
  person;
- validity: filled values that still pass today's rules (a shared test e-mail, a phone that no
  longer parses, an impossible age);
- freshness: filled fields confirmed within their staleness period (setting per field); stale
  fields are listed for re-confirmation;
- consistency: values that agree with each other (phone country and address country, postal
  code format and country, city without a country);
- uniqueness: no open duplicate candidate.

Pure: the caller supplies the row, the time and the staleness policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import phonenumbers

from clientela.domain.errors import InvalidValue
from clientela.domain.values import (
    normalise_birth_date,
    normalise_cpf,
    normalise_email,
    normalise_postal_code,
    phone_region,
)

__all__ = [
    "DEFAULT_STALENESS_DAYS",
    "FIELD_IMPORTANCE",
    "PART_WEIGHTS",
    "Quality",
    "assess",
]

#: How much each field counts towards completeness.
FIELD_IMPORTANCE: dict[str, float] = {
    "email": 3,
    "phone": 3,
    "given_name": 2,
    "family_name": 2,
    "birth_date": 2,
    "document": 2,
    "address_line1": 1,
    "city": 1,
    "postal_code": 1,
    "country": 1,
    "gender": 0.5,
    "locale": 0.5,
    "occupation": 0.5,
    "preferred_channel": 0.5,
}

#: Share of each part in the score (sums to 100).
PART_WEIGHTS: dict[str, float] = {
    "completeness": 35,
    "validity": 20,
    "freshness": 15,
    "consistency": 15,
    "uniqueness": 15,
}

#: Days after which a field that was not confirmed again is stale (None: never).
DEFAULT_STALENESS_DAYS: dict[str, int] = {
    "email": 730,
    "phone": 730,
    "address_line1": 1095,
    "city": 1095,
    "postal_code": 1095,
    "occupation": 1095,
    "preferred_channel": 365,
}

_ADDRESS = ("address_line1", "address_line2", "city", "region", "postal_code")


@dataclass(frozen=True)
class Quality:
    score: int
    parts: dict[str, float]
    missing: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "parts": self.parts,
            "missing": self.missing,
            "invalid": self.invalid,
            "stale": self.stale,
            "inconsistent": self.inconsistent,
        }


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def _stamp(value: Any) -> datetime | None:
    text = value[0] if isinstance(value, list | tuple) and value else value
    if isinstance(text, datetime):
        return text
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _invalid_fields(
    row: Mapping[str, Any], today: date, blocked: frozenset[str], *, validated: bool
) -> list[str]:
    invalid: list[str] = []
    if validated:  # normalised by the same rules a moment ago: only the blocked list can fail
        return sorted(
            key
            for key in ("email", "phone", "document")
            if _filled(row.get(key)) and f"{key}:{row[key]}" in blocked
        )
    checks: dict[str, Any] = {
        "email": lambda v: normalise_email(v),
        "document": lambda v: normalise_cpf(v),
        "birth_date": lambda v: normalise_birth_date(v, today=today),
        "postal_code": lambda v: normalise_postal_code(v, country=row.get("country")),
    }
    for key, check in checks.items():
        value = row.get(key)
        if not _filled(value):
            continue
        try:
            check(value)
        except InvalidValue:
            invalid.append(key)
    phone = row.get("phone")
    if _filled(phone):
        try:
            if not phonenumbers.is_valid_number(phonenumbers.parse(str(phone), None)):
                invalid.append("phone")
        except phonenumbers.NumberParseException:
            invalid.append("phone")
    for key in ("email", "phone", "document"):
        if _filled(row.get(key)) and f"{key}:{row[key]}" in blocked and key not in invalid:
            invalid.append(key)
    return sorted(invalid)


def _inconsistent(row: Mapping[str, Any]) -> tuple[list[str], int]:
    """Checks that could be made, and those that failed."""
    failed: list[str] = []
    checks = 0
    country = row.get("country")
    phone = row.get("phone")
    if _filled(phone) and _filled(country):
        checks += 1
        region = phone_region(str(phone))
        if region and region != country:
            failed.append("phone_country")
    if _filled(row.get("postal_code")) and _filled(country):
        checks += 1
        try:
            normalise_postal_code(str(row["postal_code"]), country=country)
        except InvalidValue:
            failed.append("postal_code_country")
    if any(_filled(row.get(k)) for k in _ADDRESS):
        checks += 1
        if not _filled(country):
            failed.append("address_without_country")
    return failed, checks


def assess(
    row: Mapping[str, Any],
    *,
    now: datetime,
    open_duplicates: int = 0,
    staleness_days: Mapping[str, int] | None = None,
    blocked: frozenset[str] = frozenset(),
    validated: bool = False,
) -> Quality:
    """The quality of a stored profile row (``field_observed`` gives when each field was last
    confirmed; fields never observed count from ``created_at``). ``validated``: the row was
    just normalised by ``domain.fields`` (a new profile), so formats are not checked again."""
    staleness = DEFAULT_STALENESS_DAYS if staleness_days is None else staleness_days
    total_weight = sum(FIELD_IMPORTANCE.values())
    filled_weight = sum(w for key, w in FIELD_IMPORTANCE.items() if _filled(row.get(key)))
    missing = [key for key, w in FIELD_IMPORTANCE.items() if w >= 1 and not _filled(row.get(key))]

    filled = [key for key in FIELD_IMPORTANCE if _filled(row.get(key))]
    invalid = _invalid_fields(row, now.date(), blocked, validated=validated)
    validity = 1 - len(invalid) / len(filled) if filled else 1.0

    observed = row.get("field_observed") or {}
    created = row.get("created_at")
    stale: list[str] = []
    timed = [key for key in filled if staleness.get(key)]
    for key in timed:
        seen = _stamp(observed.get(key)) or (created if isinstance(created, datetime) else None)
        if seen is None:
            continue
        if seen.tzinfo is None and now.tzinfo is not None:
            seen = seen.replace(tzinfo=now.tzinfo)
        if (now - seen).days > staleness[key]:
            stale.append(key)
    freshness = 1 - len(stale) / len(timed) if timed else 1.0

    inconsistent, checks = _inconsistent(row)
    consistency = 1 - len(inconsistent) / checks if checks else 1.0
    uniqueness = 0.0 if open_duplicates else 1.0

    parts = {
        "completeness": round(filled_weight / total_weight, 3),
        "validity": round(validity, 3),
        "freshness": round(freshness, 3),
        "consistency": round(consistency, 3),
        "uniqueness": uniqueness,
    }
    score = round(sum(parts[name] * weight for name, weight in PART_WEIGHTS.items()))
    return Quality(score, parts, missing, invalid, sorted(stale), inconsistent)
