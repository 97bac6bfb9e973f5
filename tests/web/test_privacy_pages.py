"""The DPO's pages beside the requests: ledger search, purposes register, retention, breach
reports — each refusal shown with its field and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.privacy.consent import record_consent
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import csrf, signed_in


def _consents(store: Store, settings: Settings, customer_id: str) -> None:
    with store.unit_of_work() as uow:
        for days, action in ((30, "grant"), (2, "withdraw")):
            record_consent(
                uow,
                customer_id,
                "marketing_email",
                action,
                actor=factories.actor(),
                settings=settings,
                evidence={"notice_version": "v3", "form": "footer", "ip": "203.0.113.9"},
                occurred_at=datetime.now(UTC) - timedelta(days=days),
            )
        uow.commit()


def test_the_ledger_search_finds_a_person_by_a_phone_in_another_format(
    store: Store, settings: Settings
) -> None:
    factories.registered_purposes(store)
    person = factories.joana_silva(store, settings, 11)
    other = factories.stored_customer(store, settings, email="someone.else@example.com")
    _consents(store, settings, person["id"])
    _consents(store, settings, other["id"])
    dpo = factories.user(store, "dpo", "dpo@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, dpo, "/privacy/consents")
        latest = client.get("/privacy/consents")
        assert latest.status_code == 200 and latest.text.count("<tr>") == 1 + 4
        found = client.get("/privacy/consents", params={"person": "(81) 98765 4321"})
        assert found.text.count(f'href="/customers/{person["id"]}"') == 2
        assert other["id"] not in found.text
        assert "notice_version: v3" in found.text
        assert "203.0.113.9" not in found.text and "also held: ip" in found.text
        withdrawn = client.get("/privacy/consents", params={"action": "withdraw", "person": ""})
        assert withdrawn.text.count("<td>withdraw</td>") == 2
        wrong = client.get("/privacy/consents", params={"since": "yesterday"})
        assert wrong.status_code == 422 and "since: must be a day" in wrong.text
        nobody = client.get("/privacy/consents", params={"person": "nobody@example.com"})
        assert "person: no customer has this" in nobody.text
    with store.unit_of_work(write=False) as uow:
        entries = uow.audit.for_customer(person["id"])
    assert "consent.search" in {entry["action"] for entry in entries}


def test_the_purposes_register_refuses_an_incomplete_purpose_and_keeps_a_complete_one(
    store: Store, settings: Settings
) -> None:
    dpo = factories.user(store, "dpo", "dpo@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, dpo, "/privacy/purposes")
        token = csrf(client.get("/privacy/purposes").text)
        form = {"csrf_token": token, "action": "create", "key": "loyalty", "name": "Loyalty"}
        refused = client.post(
            "/privacy/purposes", data={**form, "lawful_basis": "contract", "retention_days": "x"}
        )
        assert refused.status_code == 422
        assert "retention_days: must be a whole number" in refused.text
        assert 'value="Loyalty"' in refused.text  # what was typed comes back
        missing = client.post("/privacy/purposes", data={**form, "lawful_basis": "contract"})
        assert missing.status_code == 422 and "data_categories: is required" in missing.text
        with store.unit_of_work(write=False) as uow:
            assert uow.purposes.get_by_key("loyalty") is None
        saved = client.post(
            "/privacy/purposes",
            data={
                **form,
                "lawful_basis": "contract",
                "data_categories": ["personal", "transactional"],
                "retention_days": "730",
                "recipients": "Mailer Ltd, Courier SA",
            },
        )
        assert saved.status_code == 200 and "Purpose registered." in saved.text
        assert 'data-purpose="loyalty"' in saved.text and "Mailer Ltd, Courier SA" in saved.text
    with store.unit_of_work(write=False) as uow:
        row = uow.purposes.get_by_key("loyalty")
    assert row is not None and row["data_categories"] == ["personal", "transactional"]


def test_retention_dry_run_counts_and_applying_needs_a_confirmation(
    store: Store, settings: Settings
) -> None:
    dpo = factories.user(store, "dpo", "dpo@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, dpo, "/privacy/retention")
        page = client.get("/privacy/retention").text
        token = csrf(page)
        dry = client.post("/privacy/retention", data={"csrf_token": token, "action": "dry_run"})
        assert dry.status_code == 200 and "Dry run: what a run would do now" in dry.text
        assert "dry run</td>" in dry.text  # the run is in the history
        unconfirmed = client.post(
            "/privacy/retention", data={"csrf_token": token, "action": "apply"}
        )
        assert unconfirmed.status_code == 422 and "confirm: tick the box" in unconfirmed.text
        bad = client.post(
            "/privacy/retention",
            data={"csrf_token": token, "action": "add", "category": "behavioural", "days": "0"},
        )
        assert bad.status_code == 422 and "days: must be a whole number of days" in bad.text
        added = client.post(
            "/privacy/retention",
            data={"csrf_token": token, "action": "add", "category": "transactional",
                  "days": "3650", "description": "tax records: 10 years"},
        )  # fmt: skip
        assert "tax records: 10 years" in added.text
    with store.unit_of_work(write=False) as uow:
        runs = uow.retention.runs()
    assert [run["dry_run"] for run in runs] == [True]


def test_a_breach_report_names_the_people_and_the_deadlines(
    store: Store, settings: Settings
) -> None:
    person = factories.joana_silva(store, settings, 12)
    dpo = factories.user(store, "dpo", "dpo@example.com", mfa=True)
    now = datetime.now(UTC)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, dpo, "/privacy/breach")
        token = csrf(client.get("/privacy/breach").text)
        window = {
            "csrf_token": token,
            "kind": "actor",
            "identifier": "system:tests",  # the actor the factories create people as
            "window_start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "window_end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        }
        refused = client.post("/privacy/breach", data=window)
        assert refused.status_code == 422 and "aware_at: is required" in refused.text
        shown = client.post(
            "/privacy/breach", data={**window, "aware_at": now.strftime("%Y-%m-%dT%H:%M")}
        )
        assert shown.status_code == 200 and "<strong>1</strong> person exposed" in shown.text
        assert "GDPR Art. 33(1)" in shown.text and "ANPD" in shown.text
        report = shown.url.params["report"]
        listing = client.get(f"/privacy/breach/{report}/notifications")
        assert listing.headers["content-type"].startswith("text/csv")
        assert person["id"] in listing.text and "joana.silva@gmail.com" in listing.text
    with store.unit_of_work(write=False) as uow:
        actions = {entry["action"] for entry in uow.audit.for_customer(person["id"])}
    assert "privacy.breach_notify" in actions


def test_the_privacy_pages_are_the_dpos(store: Store, settings: Settings) -> None:
    support = factories.user(store, "support", "help@example.com")
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, support)
        for path in ("/privacy/consents", "/privacy/breach"):
            assert client.get(path).status_code == 403, path
        # the register and the retention policies are readable by everyone, changed by the DPO
        assert "Register a purpose" not in client.get("/privacy/purposes").text
        assert "Apply now" not in client.get("/privacy/retention").text
        token = csrf(client.get("/privacy/retention").text)
        refused = client.post("/privacy/retention", data={"csrf_token": token, "action": "dry_run"})
        assert refused.status_code == 403
