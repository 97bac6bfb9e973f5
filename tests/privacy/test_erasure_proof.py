"""The erasure proof: a person arrives through the REST API, the tracking API and an import with
a unique marker in every personal field; the access bundle shows all of it; after erasure no
marker is left in any table, in the raw bytes of the SQLite files or in a PostgreSQL dump; and
the same person cannot come back through an import or a tracking call (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
from fastapi.testclient import TestClient
from sqlalchemy import select

from clientela.api.app import create_app
from clientela.attributes.service import define_attribute
from clientela.domain.attributes import AttributeDefinition, AttributeType, Category, Sensitivity
from clientela.ingest.imports import import_customers
from clientela.settings import Settings
from clientela.sources.keys import create_tracking_source
from clientela.storage.store import Store
from clientela.storage.tables import metadata
from tests import factories, postgres
from tests.conftest import api_key_for

ROOT = Path(__file__).parent.parent.parent
EMAIL = "zqxmark.person@example.com"
PHONE_DIGITS = "11987650321"
CPF = factories.cpf(987_321)
CPF_DIGITS = "".join(ch for ch in CPF if ch.isdigit())
#: lower-case pieces that exist nowhere but in this person's data
MARKERS = (
    "zqxmark",
    PHONE_DIGITS,
    CPF_DIGITS,
    "1911-11-11",
    "203.0.113.77",
    "198.51.100.77",
)


def _setup(store: Store) -> tuple[str, str]:
    actor = factories.actor()
    factories.registered_purposes(store)
    with store.unit_of_work() as uow:
        define_attribute(
            uow,
            AttributeDefinition(
                key="favourite_band",
                type=AttributeType.STRING,
                category=Category.PSYCHOGRAPHIC,
                sensitivity=Sensitivity.PERSONAL,
            ),
            actor=actor,
        )
        write_key = create_tracking_source(uow, "shop", actor=actor).write_key
        uow.commit()
    return api_key_for(store), write_key


def _arrive(client: TestClient, write_key: str, store: Store, settings: Settings, tmp: Path) -> str:
    created = client.post(
        "/api/v1/customers",
        json={
            "given_name": "Zqxmarkgiven",
            "family_name": "Zqxmarkfamily",
            "email": EMAIL,
            "phone": f"+55 {PHONE_DIGITS[:2]} {PHONE_DIGITS[2:]}",
            "document": CPF,
            "birth_date": "1911-11-11",
            "address_line1": "Rua Zqxmarkstreet 77",
            "city": "Zqxmarkcity",
            "attributes": {"favourite_band": "Zqxmarkband"},
        },
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}
    context = {"ip": "203.0.113.77", "userAgent": "Zqxmarkagent/1.0", "locale": "pt-BR"}
    batch = {
        "batch": [
            {
                "type": "identify",
                "messageId": "m-1",
                "userId": "zqxmark-user-1",
                "anonymousId": "zqxmark-anon-1",
                "traits": {"email": EMAIL, "occupation": "Zqxmarkjob"},
                "context": context,
            },
            {
                "type": "track",
                "messageId": "m-2",
                "userId": "zqxmark-user-1",
                "event": "Product Viewed",
                "properties": {"note": "Zqxmarkprop"},
                "context": context,
            },
            {
                "type": "track",
                "messageId": "m-3",
                "userId": "zqxmark-user-1",
                "event": "Order Completed",
                "properties": {
                    "order_id": "zqxmark-order-1",
                    "revenue": 123.45,
                    "currency": "BRL",
                    "products": [{"sku": "zqxmark-sku", "name": "Zqxmarkproduct", "price": 123.45}],
                },
                "context": context,
            },
        ]
    }
    tracked = client.post("/v1/batch", json=batch, headers=basic)
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["accepted"] == 3, tracked.text
    export = tmp / "crm.csv"
    export.write_text(
        f"email,middle_name,address_line2\n{EMAIL},Zqxmarkmiddle,Apto Zqxmarkapt\n",
        encoding="utf-8",
    )
    summary = import_customers(store, export, settings=settings, actor=factories.actor())
    assert (summary.updated, summary.rejected) == (1, 0)
    consent = client.post(
        f"/api/v1/customers/{customer_id}/consents",
        json={
            "purpose": "marketing_email",
            "action": "grant",
            "evidence": {
                "notice_version": "2026-01",
                "ip": "198.51.100.77",
                "user_agent": "Zqxmarkconsentagent",
            },
        },
    )
    assert consent.status_code == 201, consent.text
    return str(customer_id)


def _run_request(client: TestClient, kind: str) -> dict[str, Any]:
    created = client.post(
        "/api/v1/privacy/requests",
        json={"kind": kind, "identity": {"kind": "email", "value": EMAIL}, "jurisdiction": "LGPD"},
    )
    assert created.status_code == 201, created.text
    ran = client.post(
        f"/api/v1/privacy/requests/{created.json()['id']}/run", json={"attest_identity": True}
    )
    assert ran.status_code == 200, ran.text
    assert ran.json()["status"] == "completed"
    return dict(ran.json())


def _all_rows_text(store: Store) -> str:
    parts = []
    with store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts).lower()


def _opened_text(store: Store, customer_id: str) -> str:
    """The person's profile and identities as the store opens them (sealed fields included)."""
    with store.unit_of_work(write=False) as uow:
        profile = uow.customers.get(customer_id)
        identities = uow.identities.for_customer(customer_id)
    return (repr(profile) + repr(identities)).lower()


def test_erasure_leaves_no_trace_and_the_person_stays_suppressed(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    token, write_key = _setup(store)
    app = create_app(settings, store)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        customer_id = _arrive(client, write_key, store, settings, tmp_path)
        stored = _all_rows_text(store)
        for sealed in (PHONE_DIGITS, CPF_DIGITS):  # sealed at rest: only the key opens them
            assert sealed not in stored, f"{sealed} is stored in the clear"
        before = stored + _opened_text(store, customer_id)
        for marker in MARKERS:
            assert marker in before, f"{marker} never reached the store"

        access = _run_request(client, "access")
        bundle_path = Path(access["result"]["bundle"])
        download = client.get(f"/api/v1/privacy/requests/{access['id']}/bundle")
        assert download.status_code == 200
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            document = json.loads(archive.read("bundle.json"))
            names = set(archive.namelist())
        assert {"bundle.json", "profile.csv", "events.csv", "consents.csv"} <= names
        schema = json.loads((ROOT / "docs/privacy/access-bundle.schema.json").read_text())
        jsonschema.validate(document, schema)
        text = json.dumps(document, ensure_ascii=False).lower()
        for marker in MARKERS:
            assert marker in text, f"{marker} is missing from the access bundle"
        assert document["customer_id"] == customer_id
        assert {e["message_id"] for e in document["events"]} == {"m-1", "m-2", "m-3"}
        assert [t["order_id"] for t in document["transactions"]] == ["zqxmark-order-1"]
        assert any(a["action"] == "customer.create" for a in document["accessed_by"])

        erased = _run_request(client, "erasure")
        assert erased["result"]["suppressed_identifiers"] >= 4
        assert not bundle_path.exists(), "the access bundle kept on disk must go with the person"
        gone = client.get(f"/api/v1/customers/{customer_id}")
        assert gone.status_code == 404

        after = _all_rows_text(store)
        for marker in MARKERS:
            assert marker not in after, f"{marker} is still in a table after erasure"
        if store.dialect == "sqlite":
            database = Path(store.engine.url.database or "")
            for path in [database, *database.parent.glob(database.name + "-*")]:
                raw = path.read_bytes().lower()
                for marker in MARKERS:
                    assert marker.encode() not in raw, f"{marker} is in the bytes of {path.name}"
        else:
            dumped = postgres.dump(str(store.engine.url.render_as_string(hide_password=False)))
            dumped = dumped.lower()
            for marker in MARKERS:
                assert marker.encode() not in dumped, f"{marker} is in the PostgreSQL dump"

        # Kept: the consent as evidence without the person, the destruction record.
        with store.unit_of_work(write=False) as uow:
            records = uow.destructions.of_subject(customer_id)
        assert len(records) == 1
        assert records[0]["legal_basis"].startswith("LGPD")
        assert records[0]["detail"]["rows"]["events"] == 3

        # The same person cannot come back unnoticed.
        again = import_customers(
            store, tmp_path / "crm.csv", settings=settings, actor=factories.actor()
        )
        assert (again.created, again.updated, again.rejected) == (0, 0, 1)
        assert again.reject_file is not None
        with open(again.reject_file, encoding="utf-8") as handle:
            rejected_rows = list(csv.DictReader(handle))
        assert "suppression list" in json.dumps(rejected_rows)
        basic = {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}
        tracked = client.post(
            "/v1/identify",
            json={"userId": "zqxmark-user-1", "messageId": "m-9", "traits": {"name": "X"}},
            headers=basic,
        )
        assert tracked.status_code == 200
        assert tracked.json()["accepted"] == 0
        assert tracked.json()["rejected"][0]["code"] == "suppressed"
        recreated = client.post("/api/v1/customers", json={"email": EMAIL})
        assert recreated.status_code == 409
        assert recreated.json()["errors"][0]["code"] == "suppressed"
        # A fresh person is still welcome.
        other = client.post("/api/v1/customers", json={"email": "someone.else@example.com"})
        assert other.status_code == 201
