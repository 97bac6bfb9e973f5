"""Consent and eligibility: withdrawal counts from the very next check; an audience export for a
purpose holds nobody without consent or basis; minors need a guardian; GPC, objections and
disputes stop processing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.demo.service import load_demo
from clientela.domain.identity import IdentityKey
from clientela.exports.audience import export_audience
from clientela.privacy import requests
from clientela.privacy.consent import eligibility
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.conftest import api_key_for


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    factories.registered_purposes(store)
    token = api_key_for(store)
    with TestClient(
        create_app(settings, store), headers={"Authorization": f"Bearer {token}"}
    ) as the_client:
        yield the_client


def _eligible(client: TestClient, customer_id: str, purpose: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/customers/{customer_id}/eligibility", params={"purpose": purpose})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_withdrawal_takes_effect_at_the_next_check(
    client: TestClient, store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(store, settings)
    assert _eligible(client, person["id"], "marketing_email") == {
        "customer_id": person["id"],
        "purpose": "marketing_email",
        "allowed": False,
        "reason": "no consent recorded for this purpose",
        "lawful_basis": "consent",
    }
    granted = client.post(
        f"/api/v1/customers/{person['id']}/consents",
        json={
            "purpose": "marketing_email",
            "action": "grant",
            "evidence": {"notice_version": "v3", "notice_text": "We will e-mail you offers."},
        },
    )
    assert granted.status_code == 201, granted.text
    evidence = granted.json()["evidence"]
    assert evidence["notice_version"] == "v3"
    assert len(evidence["notice_hash"]) == 64 and "notice_text" not in evidence
    assert evidence["ip"] == "testclient"
    assert _eligible(client, person["id"], "marketing_email")["allowed"] is True

    withdrawn = client.post(f"/api/v1/customers/{person['id']}/consents/marketing_email/withdraw")
    assert withdrawn.status_code == 201
    answer = _eligible(client, person["id"], "marketing_email")
    assert (answer["allowed"], answer["reason"]) == (False, "consent withdrawn")
    state = client.get(f"/api/v1/customers/{person['id']}/consents").json()
    assert state["current"]["marketing_email"]["action"] == "withdraw"
    assert [e["action"] for e in state["events"]] == ["grant", "withdraw"]
    # A legitimate-interest purpose needs no consent; an unknown purpose is a 404.
    assert _eligible(client, person["id"], "analytics")["allowed"] is True
    unknown = client.get(
        f"/api/v1/customers/{person['id']}/eligibility", params={"purpose": "nope"}
    )
    assert unknown.status_code == 404


def test_minors_need_a_guardian(client: TestClient, store: Store, settings: Settings) -> None:
    ten = (date.today() - timedelta(days=365 * 10 + 3)).isoformat()
    child = factories.stored_customer(store, settings, birth_date=ten)
    refused = client.post(
        f"/api/v1/customers/{child['id']}/consents",
        json={"purpose": "marketing_email", "action": "grant"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "evidence.guardian"
    accepted = client.post(
        f"/api/v1/customers/{child['id']}/consents",
        json={
            "purpose": "marketing_email",
            "action": "grant",
            "evidence": {"guardian": {"name": "Maria Souza", "relationship": "mother"}},
        },
    )
    assert accepted.status_code == 201, accepted.text
    assert _eligible(client, child["id"], "marketing_email")["allowed"] is True


def test_objection_and_dispute_stop_processing(store: Store, settings: Settings) -> None:
    factories.registered_purposes(store)
    person = factories.stored_customer(store, settings)
    actor = factories.actor()
    email = IdentityKey("email", person["email"])
    with store.unit_of_work() as uow:
        objection = requests.create_request(
            uow,
            kind="objection",
            identity=email,
            actor=actor,
            settings=settings,
            details={"purposes": ["analytics"]},
        )
        uow.commit()
    requests.run_request(
        store, objection["id"], actor=actor, settings=settings, attest_identity=True
    )
    with store.unit_of_work() as uow:
        assert not eligibility(uow, person["id"], "analytics", settings=settings).allowed
        assert eligibility(uow, person["id"], "personalisation", settings=settings).reason == (
            "no consent recorded for this purpose"
        )
        rectification = requests.create_request(
            uow,
            kind="rectification",
            identity=email,
            actor=actor,
            settings=settings,
            details={"changes": {"family_name": "Corrected"}},
        )
        uow.commit()
    with store.unit_of_work() as uow:
        decision = eligibility(uow, person["id"], "marketing_sms", settings=settings)
        assert not decision.allowed
        assert "disputed" in decision.reason
    requests.run_request(
        store, rectification["id"], actor=actor, settings=settings, attest_identity=True
    )
    with store.unit_of_work() as uow:
        row = uow.customers.get(person["id"])
        assert row is not None and row["family_name"] == "Corrected"
        decision = eligibility(uow, person["id"], "marketing_sms", settings=settings)
        assert "disputed" not in decision.reason
        done = requests.get_request(uow, rectification["id"])
        assert done["status"] == "completed"
        assert [s["action"] for s in done["steps"]] == ["received", "attested", "completed"]


def test_gpc_on_a_tracking_call_opts_out_of_sale(
    client: TestClient, store: Store, settings: Settings
) -> None:
    from clientela.sources.keys import create_tracking_source

    with store.unit_of_work() as uow:
        key = create_tracking_source(uow, "site", actor=factories.actor()).write_key
        uow.commit()
    sent = client.post(
        "/v1/identify",
        json={
            "userId": "gpc-user",
            "messageId": "gpc-1",
            "traits": {"email": "gpc@example.com"},
            "writeKey": key,
        },
        headers={"Sec-GPC": "1", "Authorization": ""},
    )
    assert sent.status_code == 200, sent.text
    with store.unit_of_work() as uow:
        owner = uow.identities.owner_of("user_id", "gpc-user")
        assert owner is not None
        decision = eligibility(uow, owner, "sale_sharing", settings=settings)
    assert not decision.allowed


def test_an_audience_export_holds_nobody_without_consent_or_basis(
    store: Store, settings: Settings
) -> None:
    load_demo(store, settings, customers=250, seed=11)
    actor = factories.actor()
    with store.unit_of_work() as uow:
        ids = uow.customers.active_ids()
        objector = ids[0]
        request = requests.create_request(
            uow,
            kind="objection",
            identity=IdentityKey("email", str(uow.customers.get(objector)["email"])),  # type: ignore[index]
            actor=actor,
            settings=settings,
            details={"purposes": ["marketing_email", "analytics"]},
        )
        uow.commit()
    requests.run_request(store, request["id"], actor=actor, settings=settings, attest_identity=True)

    def exported(purpose: str) -> tuple[set[str], dict[str, Any]]:
        out = io.BytesIO()
        with store.unit_of_work(write=False) as uow:
            summary = export_audience(uow, out, purpose=purpose, actor=actor, settings=settings)
            uow.commit()
        rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
        return {row["customer_id"] for row in rows}, summary

    # The expectation, computed from the ledger directly: the latest word is a grant.
    with store.unit_of_work(write=False) as uow:
        ledger = uow.consents.for_customers(ids)
    latest: dict[tuple[str, str], Any] = {}
    for event in sorted(ledger, key=lambda e: (e["occurred_at"], e["recorded_at"], e["id"])):
        latest[(event["customer_id"], event["purpose"])] = event["action"]
    granted = {
        cid
        for (cid, purpose), action in latest.items()
        if purpose == "marketing_email" and action == "grant"
    }

    marketing, summary = exported("marketing_email")
    assert marketing == granted - {objector}
    assert 0 < len(marketing) < len(ids)
    assert summary["exported"] + sum(summary["excluded"].values()) == len(ids)
    assert set(summary["excluded"]) <= {
        "no consent recorded for this purpose",
        "consent denied",
        "consent withdrawn",
        "the person objected to this processing",
    }
    assert summary["fields"] == ["given_name", "family_name", "email", "phone", "locale", "country"]

    analytics, summary = exported("analytics")  # legitimate interest: all but the objector
    assert analytics == set(ids) - {objector}
    assert summary["excluded"] == {"the person objected to this processing": 1}

    # Fields a purpose does not use cannot be exported for it.
    with store.unit_of_work(write=False) as uow, pytest.raises(Exception, match="does not use"):
        export_audience(
            uow,
            io.BytesIO(),
            purpose="marketing_sms",
            actor=actor,
            settings=settings,
            fields=["occupation"],
        )


def test_gpc_relayed_to_the_api_and_an_opt_out_request(
    client: TestClient, store: Store, settings: Settings
) -> None:
    person = factories.stored_customer(store, settings)
    for purpose in ("marketing_email", "sale_sharing"):
        client.post(
            f"/api/v1/customers/{person['id']}/consents",
            json={"purpose": purpose, "action": "grant"},
        )
    assert _eligible(client, person["id"], "sale_sharing")["allowed"] is True
    relayed = client.post(
        f"/api/v1/customers/{person['id']}/consents",
        json={"purpose": "marketing_email", "action": "grant"},
        headers={"Sec-GPC": "1"},
    )
    assert relayed.status_code == 201
    assert _eligible(client, person["id"], "sale_sharing")["reason"] == "consent denied"
    assert _eligible(client, person["id"], "marketing_email")["allowed"] is True

    other = factories.stored_customer(store, settings)
    client.post(
        f"/api/v1/customers/{other['id']}/consents",
        json={"purpose": "sale_sharing", "action": "grant"},
    )
    created = client.post(
        "/api/v1/privacy/requests",
        json={"kind": "opt_out", "identity": {"kind": "email", "value": other["email"]}},
    )
    ran = client.post(
        f"/api/v1/privacy/requests/{created.json()['id']}/run", json={"attest_identity": True}
    )
    assert ran.json()["result"] == {"restricted_purposes": ["sale_sharing"]}
    answer = _eligible(client, other["id"], "sale_sharing")
    assert answer["reason"] == "the person opted out of sale and sharing"
    assert _eligible(client, other["id"], "analytics")["allowed"] is True
