"""Privacy rules: lawful bases, the consent state, eligibility, and the request lifecycle.

``decide`` is the one rule for "may this person's data be used for this purpose now?"; every
export, segment activation and webhook reaches it through ``privacy.consent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clientela.domain.deadlines import Jurisdiction
from clientela.domain.errors import Conflict

__all__ = [
    "CONSENT_ACTIONS",
    "LAWFUL_BASES",
    "MECHANISMS",
    "SALE_SHARING_PURPOSE",
    "SPECIAL_DATA_BASES",
    "ConsentState",
    "Eligibility",
    "ErasureMode",
    "RequestKind",
    "RequestStatus",
    "Restriction",
    "check_transition",
    "current_consents",
    "decide",
    "is_minor",
]

#: GDPR Art. 6(1) and LGPD Art. 7 (the LGPD adds credit protection, research, health, rights)
LAWFUL_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interest",
    "exercise_of_rights",
    "credit_protection",
    "health_protection",
    "research",
)
#: bases that may cover special-category data (GDPR Art. 9(2), LGPD Art. 11)
SPECIAL_DATA_BASES = frozenset(
    {
        "consent",
        "legal_obligation",
        "vital_interests",
        "public_task",
        "exercise_of_rights",
        "health_protection",
        "research",
    }
)
CONSENT_ACTIONS = ("grant", "deny", "withdraw")
#: the purpose a Global Privacy Control signal and a CCPA opt-out speak about
SALE_SHARING_PURPOSE = "sale_sharing"
MECHANISMS = ("opt_in", "opt_out", "notice_only")

#: the age under which consent needs a parent or guardian, per law
MINOR_AGE = {
    Jurisdiction.LGPD: 12,  # Art. 14 §1 (children, as the ECA defines them)
    Jurisdiction.GDPR: 16,  # Art. 8(1); member states may lower it to 13
    Jurisdiction.CCPA: 13,  # 1798.120(c): under 13, a parent opts in to sale
    Jurisdiction.FZ152: 14,  # Civil Code Art. 26-28 with 152-FZ Art. 9(6)
}


class RequestKind(StrEnum):
    CONFIRMATION = "confirmation"
    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    OPT_OUT = "opt_out"  # of sale and sharing (CCPA 1798.120)
    SHARING_INFO = "sharing_info"  # which recipients (LGPD Art. 18 VII)


class RequestStatus(StrEnum):
    RECEIVED = "received"
    VERIFYING = "verifying"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    COMPLETED = "completed"
    DENIED = "denied"


class ErasureMode(StrEnum):
    DELETION = "deletion"  # rows removed; transactions kept only as anonymous aggregates
    ANONYMISATION = "anonymisation"  # the profile row stays, with no personal value left
    BLOCKING = "blocking"  # values kept, every processing blocked (LGPD Art. 5 XIII)


_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.RECEIVED: frozenset(
        {RequestStatus.VERIFYING, RequestStatus.IN_PROGRESS, RequestStatus.DENIED}
    ),
    RequestStatus.VERIFYING: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.DENIED}),
    RequestStatus.IN_PROGRESS: frozenset(
        {RequestStatus.EXTENDED, RequestStatus.COMPLETED, RequestStatus.DENIED}
    ),
    RequestStatus.EXTENDED: frozenset({RequestStatus.COMPLETED, RequestStatus.DENIED}),
    RequestStatus.COMPLETED: frozenset(),
    RequestStatus.DENIED: frozenset(),
}


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    if target not in _TRANSITIONS[current]:
        allowed = ", ".join(sorted(_TRANSITIONS[current])) or "none (the request is closed)"
        raise Conflict(
            f"A request that is {current} cannot become {target}; next steps: {allowed}."
        )


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The latest word of a person about one purpose."""

    action: str  # grant, deny, withdraw
    mechanism: str
    occurred_at: datetime
    guardian: bool  # a parent or guardian gave it (minors)


@dataclass(frozen=True, slots=True)
class Restriction:
    """A processing stop: a restriction, objection or opt-out, or data under dispute."""

    kind: str  # restriction, objection, opt_out, dispute, blocking
    purposes: frozenset[str]  # empty: every purpose
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Eligibility:
    allowed: bool
    reason: str
    lawful_basis: str

    def as_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "reason": self.reason, "lawful_basis": self.lawful_basis}


def current_consents(events: Iterable[Mapping[str, Any]]) -> dict[str, ConsentState]:
    """The latest event per purpose key; ties in time go to the later-recorded event."""
    latest: dict[str, tuple[tuple[Any, ...], ConsentState]] = {}
    for event in events:
        order = (event["occurred_at"], event["recorded_at"], event["id"])
        purpose = str(event["purpose"])
        if purpose in latest and latest[purpose][0] >= order:
            continue
        evidence = event.get("evidence") or {}
        latest[purpose] = (
            order,
            ConsentState(
                action=str(event["action"]),
                mechanism=str(event["mechanism"]),
                occurred_at=event["occurred_at"],
                guardian=bool(isinstance(evidence, dict) and evidence.get("guardian")),
            ),
        )
    return {purpose: state for purpose, (_, state) in latest.items()}


def is_minor(birth_date: date | None, today: date, jurisdiction: Jurisdiction) -> bool:
    if birth_date is None:
        return False
    years = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    return years < MINOR_AGE[jurisdiction]


def decide(
    *,
    purpose_key: str,
    lawful_basis: str,
    status: str | None,
    consent: ConsentState | None,
    restrictions: Iterable[Restriction],
    minor: bool,
) -> Eligibility:
    """May the person's data be used for this purpose now? With the reason, either way."""
    if status is None:
        return Eligibility(False, "no such customer", lawful_basis)
    if status == "erased":
        return Eligibility(False, "the person was erased", lawful_basis)
    if status == "merged":
        return Eligibility(
            False, "the profile was merged into another; ask the survivor", lawful_basis
        )
    for restriction in restrictions:
        if not restriction.purposes or purpose_key in restriction.purposes:
            return Eligibility(False, _RESTRICTION_REASONS[restriction.kind], lawful_basis)
    if lawful_basis != "consent":
        if (
            consent is not None
            and consent.action in ("deny", "withdraw")
            and consent.mechanism == "opt_out"
        ):
            return Eligibility(False, "the person opted out", lawful_basis)
        return Eligibility(True, f"lawful basis: {lawful_basis}", lawful_basis)
    if consent is None:
        return Eligibility(False, "no consent recorded for this purpose", lawful_basis)
    if consent.action == "withdraw":
        return Eligibility(False, "consent withdrawn", lawful_basis)
    if consent.action == "deny":
        return Eligibility(False, "consent denied", lawful_basis)
    if minor and not consent.guardian:
        return Eligibility(False, "a minor: consent needs a parent or guardian", lawful_basis)
    return Eligibility(True, "consent granted", lawful_basis)


_RESTRICTION_REASONS = {
    "restriction": "processing restricted at the person's request",
    "objection": "the person objected to this processing",
    "opt_out": "the person opted out of sale and sharing",
    "dispute": "personal data disputed (rectification pending): blocked from processing",
    "blocking": "the person's data is blocked",
}
