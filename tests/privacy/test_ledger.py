"""The consent-ledger search: filters, newest first, pages that neither skip nor repeat,
personal evidence named but not shown, every person shown audited, refusals per field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.domain.errors import BadRequest, ValidationFailed
from clientela.privacy.consent import record_consent
from clientela.privacy.ledger import search_ledger
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.conftest import api_key_for

NOW = datetime.now(UTC).replace(microsecond=0)


def _ledger(store: Store, settings: Settings) -> tuple[list[str], list[dict[str, Any]]]:
    """Five people; each granted marketing e-mail on a different day, two later withdrew and
    one granted analytics — all at whole seconds, some at the same moment (ties)."""
    factories.registered_purposes(store)
    people = [
        factories.stored_customer(store, settings, email=f"person{n}@example.com")["id"]
        for n in range(5)
    ]
    written = []
    with store.unit_of_work() as uow:
        for n, person in enumerate(people):
            steps = [("marketing_email", "grant", 10 + n)]
            if n < 2:
                steps.append(("marketing_email", "withdraw", 3))  # both on the same second
            if n == 4:
                steps.append(("analytics", "grant", 3))
            for purpose, action, days in steps:
                written.append(
                    record_consent(
                        uow,
                        person,
                        purpose,
                        action,
                        actor=factories.actor(),
                        settings=settings,
                        evidence={"notice_version": "v2", "ip": "198.51.100.7"},
                        occurred_at=NOW - timedelta(days=days),
                    )
                )
        uow.commit()
    return people, written


def _search(store: Store, settings: Settings, **criteria: Any) -> Any:
    with store.unit_of_work(write=False) as uow:
        found = search_ledger(
            uow, actor=factories.actor("dpo"), region=settings.default_region, **criteria
        )
        uow.commit()
    return found


def test_filters_and_order(store: Store, settings: Settings) -> None:
    people, written = _ledger(store, settings)
    everything = _search(store, settings)
    assert len(everything.events) == len(written) == 8 and everything.next_cursor is None
    moments = [event["occurred_at"] for event in everything.events]
    assert moments == sorted(moments, reverse=True)
    withdrawals = _search(store, settings, action="withdraw")
    assert {event["customer_id"] for event in withdrawals.events} == set(people[:2])
    analytics = _search(store, settings, purpose="analytics")
    assert [event["customer_id"] for event in analytics.events] == [people[4]]
    by_email = _search(store, settings, person="PERSON1@example.com")
    assert {event["customer_id"] for event in by_email.events} == {people[1]}
    by_id = _search(store, settings, person=people[3])
    assert len(by_id.events) == 1
    day = (NOW - timedelta(days=12)).date()
    one_day = _search(store, settings, since=day, until=day)
    assert [event["customer_id"] for event in one_day.events] == [people[2]]
    event = everything.events[0]
    assert event["evidence"] == {"notice_version": "v2"}
    assert event["evidence_held"] == ["ip"]


def test_pages_neither_skip_nor_repeat_across_ties(store: Store, settings: Settings) -> None:
    _, written = _ledger(store, settings)
    seen: list[str] = []
    cursor = None
    while True:
        page = _search(store, settings, limit=3, cursor=cursor)
        seen.extend(event["id"] for event in page.events)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(event["id"] for event in written)
    assert len(seen) == len(set(seen))


def test_every_person_shown_is_audited(store: Store, settings: Settings) -> None:
    people, _ = _ledger(store, settings)
    _search(store, settings, action="withdraw")
    with store.unit_of_work(write=False) as uow:
        searched = {
            person
            for person in people
            if any(e["action"] == "consent.search" for e in uow.audit.for_customer(person))
        }
    assert searched == set(people[:2])


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"purpose": "astrology"}, "purpose"),
        ({"action": "maybe"}, "action"),
        ({"since": date(2026, 5, 2), "until": date(2026, 5, 1)}, "until"),
        ({"person": "nobody@example.com"}, "person"),
        ({"limit": 0}, "limit"),
    ],
)
def test_refusals_name_the_field(
    store: Store, settings: Settings, criteria: dict[str, Any], field: str
) -> None:
    factories.registered_purposes(store)
    with pytest.raises(ValidationFailed) as refused:
        _search(store, settings, **criteria)
    assert [error.field for error in refused.value.errors] == [field]


def test_a_forged_cursor_is_refused(store: Store, settings: Settings) -> None:
    with pytest.raises(BadRequest):
        _search(store, settings, cursor="bm90LWEtY3Vyc29y")


def test_the_api_searches_for_privacy_keys_only(store: Store, settings: Settings) -> None:
    _ledger(store, settings)
    with TestClient(create_app(settings, store)) as client:
        dpo = {"Authorization": f"Bearer {api_key_for(store, 'dpo')}"}
        support = {"Authorization": f"Bearer {api_key_for(store, 'support')}"}
        url = "/api/v1/privacy/consent-ledger"
        assert client.get(url, headers=support).status_code == 403
        first = client.get(url, params={"limit": 5}, headers=dpo).json()
        assert len(first["data"]) == 5 and first["next_cursor"]
        rest = client.get(url, params={"cursor": first["next_cursor"]}, headers=dpo).json()
        assert len(rest["data"]) == 3 and rest["next_cursor"] is None
        unknown = client.get(url, params={"purpose": "astrology"}, headers=dpo)
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "purpose"
