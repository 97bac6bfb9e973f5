"""Survivorship: which value of each field the golden record keeps when two profiles merge.

Fields that only make sense together (the parts of a name, the lines of an address) survive as a
group, so a merge never pairs one profile's street with another's postcode. Each group follows
one rule; every losing value stays in field provenance, so nothing said is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "DEFAULT_RULES",
    "FIELD_GROUPS",
    "RULES",
    "Candidate",
    "Rule",
    "choose",
    "group_of",
]

Rule = Literal["most_recent", "most_trusted", "most_complete", "most_frequent", "manual"]
RULES: tuple[Rule, ...] = (
    "most_recent",
    "most_trusted",
    "most_complete",
    "most_frequent",
    "manual",
)

#: Fields that survive together; every other profile field is a group of its own.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("given_name", "middle_name", "family_name", "full_name"),
    "address": (
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
    ),
}

#: Defaults: who a person is comes from the most trusted source; how to reach them changes, so
#: the newest observation wins; preferences follow what was said most often.
DEFAULT_RULES: dict[str, Rule] = {
    "name": "most_trusted",
    "birth_date": "most_trusted",
    "document": "most_trusted",
    "gender": "most_trusted",
    "email": "most_recent",
    "phone": "most_recent",
    "address": "most_recent",
    "interests": "most_frequent",
    "values": "most_frequent",
    "lifestyle": "most_frequent",
}
FALLBACK_RULE: Rule = "most_recent"


def group_of(field: str) -> str:
    for group, fields in FIELD_GROUPS.items():
        if field in fields:
            return group
    return field


@dataclass(frozen=True)
class Candidate:
    """One profile's values for a group, with what survivorship weighs."""

    profile_id: str
    values: Mapping[str, Any]
    observed_at: datetime | None = None
    trust: int = 0
    frequency: int = 0

    @property
    def filled(self) -> int:
        return sum(1 for value in self.values.values() if value not in (None, "", [], {}))

    @property
    def length(self) -> int:
        return sum(len(str(value)) for value in self.values.values() if value is not None)


_EPOCH = datetime.min


def _recency(candidate: Candidate) -> datetime:
    observed = candidate.observed_at
    return observed.replace(tzinfo=None) if observed is not None else _EPOCH


def choose(rule: Rule, candidates: Sequence[Candidate]) -> Candidate:
    """The winning candidate. ``candidates[0]`` is the survivor's; it wins every tie, and an empty
    candidate never beats a filled one."""
    if not candidates:
        raise ValueError("no candidates")
    filled = [c for c in candidates if c.filled] or [candidates[0]]
    order = {id(c): i for i, c in enumerate(candidates)}
    keys: dict[Rule, Any] = {
        "most_recent": lambda c: (_recency(c), -order[id(c)]),
        "most_trusted": lambda c: (c.trust, _recency(c), -order[id(c)]),
        "most_complete": lambda c: (c.filled, c.length, _recency(c), -order[id(c)]),
        "most_frequent": lambda c: (c.frequency, _recency(c), -order[id(c)]),
        # Manual: nothing changes until a person decides; the survivor keeps what it has.
        "manual": lambda c: (-order[id(c)],),
    }
    return max(filled, key=keys[rule])
