"""The eligibility rule, the consent state and the request lifecycle (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clientela.domain.deadlines import Jurisdiction
from clientela.domain.errors import Conflict
from clientela.domain.privacy import (
    ConsentState,
    RequestStatus,
    Restriction,
    check_transition,
    current_consents,
    decide,
    is_minor,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _state(action: str, mechanism: str = "opt_in", guardian: bool = False) -> ConsentState:
    return ConsentState(action, mechanism, T0, guardian)


@pytest.mark.parametrize(
    ("basis", "status", "consent", "restrictions", "minor", "allowed", "reason"),
    [
        ("consent", "active", _state("grant"), [], False, True, "consent granted"),
        ("consent", "active", None, [], False, False, "no consent recorded for this purpose"),
        ("consent", "active", _state("withdraw"), [], False, False, "consent withdrawn"),
        ("consent", "active", _state("deny"), [], False, False, "consent denied"),
        (
            "consent",
            "active",
            _state("grant"),
            [],
            True,
            False,
            "a minor: consent needs a parent or guardian",
        ),
        ("consent", "active", _state("grant", guardian=True), [], True, True, "consent granted"),
        (
            "legitimate_interest",
            "active",
            None,
            [],
            False,
            True,
            "lawful basis: legitimate_interest",
        ),
        (
            "legitimate_interest",
            "active",
            _state("withdraw", "opt_out"),
            [],
            False,
            False,
            "the person opted out",
        ),
        ("contract", "erased", None, [], False, False, "the person was erased"),
        ("contract", None, None, [], False, False, "no such customer"),
        (
            "consent",
            "active",
            _state("grant"),
            [Restriction("objection", frozenset({"news"}), None)],
            False,
            True,
            "consent granted",
        ),
        (
            "consent",
            "active",
            _state("grant"),
            [Restriction("objection", frozenset({"ads"}), None)],
            False,
            False,
            "the person objected to this processing",
        ),
        (
            "contract",
            "active",
            None,
            [Restriction("dispute", frozenset(), "r")],
            False,
            False,
            "personal data disputed (rectification pending): blocked from processing",
        ),
    ],
)
def test_decide(
    basis: str,
    status: str | None,
    consent: ConsentState | None,
    restrictions: list[Restriction],
    minor: bool,
    allowed: bool,
    reason: str,
) -> None:
    decision = decide(
        purpose_key="ads",
        lawful_basis=basis,
        status=status,
        consent=consent,
        restrictions=restrictions,
        minor=minor,
    )
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_the_latest_word_wins_whatever_the_order_of_arrival() -> None:
    grant = {
        "id": "b",
        "purpose": "ads",
        "action": "grant",
        "mechanism": "opt_in",
        "occurred_at": T0,
        "recorded_at": T0 + timedelta(days=2),
        "evidence": {},
    }
    withdraw = {
        "id": "a",
        "purpose": "ads",
        "action": "withdraw",
        "mechanism": "opt_in",
        "occurred_at": T0 + timedelta(hours=1),
        "recorded_at": T0 + timedelta(days=1),
        "evidence": {},
    }
    assert current_consents([grant, withdraw])["ads"].action == "withdraw"
    assert current_consents([withdraw, grant])["ads"].action == "withdraw"


def test_minor_ages_per_law() -> None:
    today = date(2026, 6, 1)
    thirteen = date(2013, 5, 31)
    assert is_minor(thirteen, today, Jurisdiction.GDPR)
    assert not is_minor(thirteen, today, Jurisdiction.LGPD)
    assert not is_minor(thirteen, today, Jurisdiction.CCPA)
    assert not is_minor(None, today, Jurisdiction.GDPR)
    assert is_minor(date(2014, 6, 2), today, Jurisdiction.LGPD)  # 12 tomorrow
    assert not is_minor(date(2014, 6, 1), today, Jurisdiction.LGPD)  # 12 today
    assert is_minor(date(2014, 6, 1), today, Jurisdiction.FZ152)


def test_request_lifecycle_transitions() -> None:
    check_transition(RequestStatus.RECEIVED, RequestStatus.VERIFYING)
    check_transition(RequestStatus.IN_PROGRESS, RequestStatus.EXTENDED)
    with pytest.raises(Conflict, match="closed"):
        check_transition(RequestStatus.COMPLETED, RequestStatus.IN_PROGRESS)
    with pytest.raises(Conflict, match="cannot become extended"):
        check_transition(RequestStatus.EXTENDED, RequestStatus.EXTENDED)
