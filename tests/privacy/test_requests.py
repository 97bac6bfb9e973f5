"""Data-subject requests: lifecycle, verification, deadlines under a frozen clock, overdue lists,
extensions, denials; every step kept."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clientela.domain.errors import Conflict, ValidationFailed
from clientela.domain.identity import IdentityKey
from clientela.privacy import requests
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories

ACTOR = factories.actor()


def _create(store: Store, settings: Settings, kind: str, law: str, email: str, **extra: object):
    with store.unit_of_work() as uow:
        created = requests.create_request(
            uow,
            kind=kind,
            identity=IdentityKey("email", email),
            actor=ACTOR,
            settings=settings,
            jurisdiction=law,
            **extra,  # type: ignore[arg-type]
        )
        uow.commit()
    return created


@pytest.mark.parametrize(
    ("law", "received", "due"),
    [
        ("LGPD", datetime(2026, 1, 31, 15, tzinfo=UTC), date(2026, 2, 15)),
        ("GDPR", datetime(2026, 1, 31, 15, tzinfo=UTC), date(2026, 2, 28)),
        ("CCPA", datetime(2026, 1, 31, 15, tzinfo=UTC), date(2026, 3, 17)),
        # Moscow: 2 Feb is the first working day after Saturday 31 Jan; 23 Feb is a holiday.
        ("152FZ", datetime(2026, 1, 31, 15, tzinfo=UTC), date(2026, 2, 13)),
    ],
)
def test_due_dates_and_overdue_lists_under_a_frozen_clock(
    store: Store, settings: Settings, law: str, received: datetime, due: date
) -> None:
    person = factories.stored_customer(store, settings)
    with time_machine.travel(received, tick=False):
        created = _create(store, settings, "access", law, person["email"])
    assert created["due_date"] == due
    assert created["status"] == "received"
    assert created["customer_id"] == person["id"]
    with (
        time_machine.travel(datetime.combine(due, datetime.min.time(), UTC), tick=False),
        store.unit_of_work(write=False) as uow,
    ):
        [listed] = requests.list_requests(uow)
        assert listed["days_left"] == 0 and not listed["overdue"]
        assert requests.list_requests(uow, overdue_only=True) == []
    with (
        time_machine.travel(datetime(due.year, due.month, due.day, 23, tzinfo=UTC)),
        store.unit_of_work(write=False) as uow,
    ):
        later = requests.list_requests(uow, today=date.fromordinal(due.toordinal() + 1))
        assert later[0]["overdue"] and later[0]["days_left"] == -1
        overdue = requests.list_requests(
            uow, overdue_only=True, today=date.fromordinal(due.toordinal() + 1)
        )
        assert [r["id"] for r in overdue] == [created["id"]]


def test_ccpa_receipt_confirmation_and_one_extension(store: Store, settings: Settings) -> None:
    person = factories.stored_customer(store, settings)
    received = datetime(2026, 11, 13, 17, tzinfo=UTC)  # 09:00 in Los Angeles
    with time_machine.travel(received, tick=False):
        created = _create(store, settings, "erasure", "CCPA", person["email"])
    assert created["acknowledge_by"] == date(2026, 12, 1)
    assert created["respond_by"] == date(2026, 12, 28)
    with store.unit_of_work() as uow:
        acknowledged = requests.acknowledge(uow, created["id"], actor=ACTOR)
        uow.commit()
    assert acknowledged["acknowledged_at"] is not None
    assert acknowledged["steps"][-1]["action"] == "acknowledged"
    with (
        time_machine.travel(datetime(2026, 12, 20, 12, tzinfo=UTC), tick=False),
        store.unit_of_work() as uow,
    ):
        requests.attest(uow, created["id"], actor=ACTOR, note="ID card seen")
        with pytest.raises(ValidationFailed):
            requests.extend(uow, created["id"], actor=ACTOR, notice="  ")
        extended = requests.extend(
            uow, created["id"], actor=ACTOR, notice="Backups must be searched."
        )
        uow.commit()
    assert extended["status"] == "extended"
    assert extended["due_date"] == date(2027, 2, 11)
    with store.unit_of_work() as uow, pytest.raises(Conflict, match="cannot become extended"):
        requests.extend(uow, created["id"], actor=ACTOR, notice="again")


def test_lgpd_allows_no_extension_and_gdpr_only_inside_the_first_month(
    store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(store, settings)
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False):
        lgpd = _create(store, settings, "access", "LGPD", person["email"])
        gdpr = _create(store, settings, "access", "GDPR", person["email"])
        with store.unit_of_work() as uow:
            requests.attest(uow, lgpd["id"], actor=ACTOR)
            requests.attest(uow, gdpr["id"], actor=ACTOR)
            with pytest.raises(Conflict, match="allows no extension"):
                requests.extend(uow, lgpd["id"], actor=ACTOR, notice="too much work")
            uow.commit()
    brussels = ZoneInfo("Europe/Brussels")
    with (
        time_machine.travel(datetime(2026, 4, 3, 9, tzinfo=brussels), tick=False),
        store.unit_of_work() as uow,
        pytest.raises(Conflict, match="too late"),
    ):
        requests.extend(uow, gdpr["id"], actor=ACTOR, notice="complex request")


def test_one_time_code_verification(store: Store, settings: Settings) -> None:
    person = factories.stored_customer(store, settings)
    created = _create(store, settings, "confirmation", "GDPR", person["email"])
    with store.unit_of_work() as uow:
        requests.send_code(uow, created["id"], actor=ACTOR)
        uow.commit()
    with store.unit_of_work() as uow:
        [message] = uow.outbox.pending()
        assert message["address"] == person["email"]
        code = message["body"].split(" is ")[1][:6]
        shown = requests.get_request(uow, created["id"])
        assert shown["status"] == "verifying"
        assert "code_hash" not in shown["verification"]
        with pytest.raises(ValidationFailed, match="wrong"):
            requests.confirm_code(
                uow, created["id"], "000000" if code != "000000" else "111111", actor=ACTOR
            )
        uow.commit()
    with pytest.raises(Conflict, match="not verified"):
        requests.run_request(store, created["id"], actor=ACTOR, settings=settings)
    with store.unit_of_work() as uow:
        verified = requests.confirm_code(uow, created["id"], code, actor=ACTOR)
        uow.commit()
    assert verified["status"] == "in_progress"
    outcome = requests.run_request(store, created["id"], actor=ACTOR, settings=settings)
    assert outcome.request["status"] == "completed"
    assert outcome.request["result"]["processing"] is True
    assert "personal" in outcome.request["result"]["categories"]
    actions = [step["action"] for step in outcome.request["steps"]]
    assert actions == ["received", "code_sent", "verified", "completed"]


def test_unknown_person_and_denial(store: Store, settings: Settings) -> None:
    created = _create(store, settings, "confirmation", "LGPD", "nobody@example.com")
    assert created["customer_id"] is None
    outcome = requests.run_request(
        store, created["id"], actor=ACTOR, settings=settings, attest_identity=True
    )
    assert outcome.request["result"] == {"processing": False}
    other = _create(store, settings, "access", "LGPD", "nobody@example.com")
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationFailed):
            requests.deny(uow, other["id"], actor=ACTOR, reason="")
        denied = requests.deny(uow, other["id"], actor=ACTOR, reason="identity not proven")
        uow.commit()
    assert (denied["status"], denied["reason"]) == ("denied", "identity not proven")
    with pytest.raises(Conflict, match="closed"):
        requests.run_request(store, other["id"], actor=ACTOR, settings=settings)


def test_invalid_requests_name_the_field(store: Store, settings: Settings) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValidationFailed) as caught:
        requests.create_request(
            uow,
            kind="forget_me",
            identity=IdentityKey("email", "a@example.com"),
            actor=ACTOR,
            settings=settings,
            jurisdiction="XX",
            details={"mode": "shred"},
        )
    fields = {error.field for error in caught.value.errors}
    assert {"kind", "jurisdiction"} <= fields


def test_a_legal_hold_stops_erasure(store: Store, settings: Settings) -> None:
    from clientela.privacy.holds import add_hold, release_hold

    person = factories.stored_customer(store, settings)
    with store.unit_of_work() as uow:
        hold = add_hold(uow, person["id"], reason="labour lawsuit 123", actor=ACTOR)
        uow.commit()
    created = _create(store, settings, "erasure", "LGPD", person["email"])
    with pytest.raises(Conflict, match="legal hold"):
        requests.run_request(
            store, created["id"], actor=ACTOR, settings=settings, attest_identity=True
        )
    with store.unit_of_work() as uow:
        release_hold(uow, hold, actor=ACTOR)
        uow.commit()
    outcome = requests.run_request(
        store, created["id"], actor=ACTOR, settings=settings, attest_identity=True
    )
    assert outcome.request["result"]["profiles"] == 1
