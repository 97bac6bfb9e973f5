"""Retention policies (dry run, legal holds, the scheduler's clock) and breach impact reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import time_machine
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.domain.actor import utcnow
from clientela.ingest.service import ingest_messages
from clientela.privacy.breach import breach_report, notification_list
from clientela.privacy.holds import add_hold
from clientela.privacy.retention import ensure_default_policies, next_run_at, run_retention
from clientela.settings import Settings
from clientela.sources.keys import create_tracking_source
from clientela.storage.store import Store
from tests import factories
from tests.conftest import api_key_for

ACTOR = factories.actor()


def _visit(store: Store, settings: Settings, user: str, when: datetime) -> None:
    with store.unit_of_work() as uow:
        source = uow.sources.get_by_name("shop")
        if source is None:
            create_tracking_source(uow, "shop", actor=ACTOR)
            source = uow.sources.get_by_name("shop")
        ingest_messages(
            uow,
            source,  # type: ignore[arg-type]
            [
                {
                    "type": "track",
                    "event": "Page Viewed",
                    "userId": user,
                    "messageId": f"{user}-{when.isoformat()}",
                    "timestamp": when.isoformat(),
                }
            ],
            actor=ACTOR,
            settings=settings,
            received_at=when,
        )
        uow.commit()


def test_retention_erases_the_long_inactive_and_old_events_but_not_held_people(
    store: Store, settings: Settings
) -> None:
    with store.unit_of_work() as uow:
        ensure_default_policies(uow)
        uow.commit()
    long_ago = datetime(2019, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(long_ago, tick=False):
        gone = factories.stored_customer(store, settings, email="gone@example.com")
        held = factories.stored_customer(store, settings, email="held@example.com")
        _visit(store, settings, "old-visitor", long_ago)
    recent = factories.stored_customer(store, settings, email="recent@example.com")
    _visit(store, settings, "new-visitor", utcnow() - timedelta(days=3))
    with store.unit_of_work() as uow:
        add_hold(uow, held["id"], reason="tax audit", actor=ACTOR)
        uow.commit()

    dry = run_retention(store, actor=ACTOR, settings=settings, dry_run=True)
    assert dry["events"]["count"] == 1
    # the visitor profile of 2019 and the old customer; the held one is left out
    assert dry["inactive_customers"]["count"] == 2
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.get(gone["id"])["status"] == "active"  # type: ignore[index]

    done = run_retention(store, actor=ACTOR, settings=settings)
    assert (done["events"]["count"], done["erased"]) == (1, 2)
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.get(gone["id"])["status"] == "erased"  # type: ignore[index]
        assert uow.customers.get(held["id"])["status"] == "active"  # type: ignore[index]
        assert uow.customers.get(recent["id"])["status"] == "active"  # type: ignore[index]
        assert uow.identities.owner_of("email", "gone@example.com") is None
        assert uow.retention.last_run() is not None
    # Retention is not an objection: the person may come back.
    factories.stored_customer(store, settings, email="gone@example.com")


def test_the_daily_run_time() -> None:
    now = datetime(2026, 5, 1, 3, 29, tzinfo=UTC)
    assert next_run_at(now, "03:30") == datetime(2026, 5, 1, 3, 30, tzinfo=UTC)
    assert next_run_at(now + timedelta(minutes=1), "03:30") == datetime(
        2026, 5, 2, 3, 30, tzinfo=UTC
    )


def test_breach_report_from_the_audit_trail(store: Store, settings: Settings) -> None:
    people = [factories.stored_customer(store, settings) for _ in range(3)]
    token = api_key_for(store, role="support")
    with store.unit_of_work(write=False) as uow:
        key_id = next(k["id"] for k in uow.api_keys.list() if k["role"] == "support")
    start = utcnow() - timedelta(minutes=1)
    with TestClient(
        create_app(settings, store), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for person in people[:2]:
            assert client.get(f"/api/v1/customers/{person['id']}").status_code == 200
    end = utcnow() + timedelta(minutes=1)
    aware = utcnow()
    with store.unit_of_work() as uow:
        report = breach_report(
            uow,
            kind="api_key",
            identifier=key_id,
            start=start,
            end=end,
            aware_at=aware,
            actor=ACTOR,
        )
        listing = notification_list(uow, report["id"], actor=ACTOR)
        whole = breach_report(
            uow, kind="store", identifier=None, start=start, end=end, aware_at=aware, actor=ACTOR
        )
        uow.commit()
    assert report["people"] == 2
    assert "personal" in report["categories"]
    assert "birth_date" in report["sensitive_fields"]
    gdpr = next(d for d in report["deadlines"] if d["notify"] == "supervisory authority")
    assert gdpr["due_at"] == aware + timedelta(hours=72)
    rows = list(csv.DictReader(io.StringIO(listing)))
    assert sorted(r["email"] for r in rows) == sorted(p["email"] for p in people[:2])
    assert whole["people"] == 3
