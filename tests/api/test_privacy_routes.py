"""The privacy API: the register, scopes (only DPO and admin keys run requests), problems that
name the field."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.storage.store import Store
from tests.conftest import api_key_for

PURPOSE = {
    "key": "newsletter",
    "name": "Newsletter",
    "lawful_basis": "consent",
    "data_categories": ["personal"],
    "recipients": ["e-mail provider"],
    "international_transfers": [{"country": "US", "safeguard": "SCC"}],
    "retention_days": 365,
}


def test_purposes_register_crud(api: Any) -> None:
    created = api.post("/api/v1/purposes", json=PURPOSE)
    assert created.status_code == 201, created.text
    assert api.post("/api/v1/purposes", json=PURPOSE).status_code == 409
    bad = api.post("/api/v1/purposes", json={**PURPOSE, "key": "x2", "lawful_basis": "vibes"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "lawful_basis"
    patched = api.patch("/api/v1/purposes/newsletter", json={"retention_days": 400})
    assert patched.json()["retention_days"] == 400
    csv_text = api.get("/api/v1/privacy/register", params={"format": "csv"}).text
    assert "newsletter" in csv_text and "US (SCC)" in csv_text
    check = api.get("/api/v1/privacy/check").json()
    assert check["ok"] is False  # demographic and other categories have no purpose
    assert api.delete("/api/v1/purposes/newsletter").status_code == 204
    assert api.get("/api/v1/purposes/newsletter").status_code == 404


def test_only_privacy_keys_handle_requests(store: Store, settings: Settings) -> None:
    app = create_app(settings, store)
    body = {"kind": "access", "identity": {"kind": "email", "value": "a@example.com"}}
    with TestClient(app) as client:
        analyst = {"Authorization": f"Bearer {api_key_for(store, 'analyst')}"}
        dpo = {"Authorization": f"Bearer {api_key_for(store, 'dpo')}"}
        refused = client.post("/api/v1/privacy/requests", json=body, headers=analyst)
        assert refused.status_code == 403
        created = client.post("/api/v1/privacy/requests", json=body, headers=dpo)
        assert created.status_code == 201, created.text
        assert created.json()["customer_id"] is None
        listed = client.get("/api/v1/privacy/requests", headers=dpo).json()
        assert [r["id"] for r in listed] == [created.json()["id"]]
        assert client.get("/api/v1/privacy/requests", headers=analyst).status_code == 403
        bad = client.post(
            "/api/v1/privacy/requests",
            json={**body, "identity": {"kind": "email", "value": "not-an-email"}},
            headers=dpo,
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "identity"


def test_the_dpo_reads_the_audit_trail(api: Any) -> None:
    created = api.post("/api/v1/customers", json={"email": "trail@example.com"}).json()
    api.get(f"/api/v1/customers/{created['id']}")
    page = api.get("/api/v1/audit", params={"customer_id": created["id"]}).json()
    actions = [entry["action"] for entry in page["data"]]
    assert actions[:2] == ["customer.create", "customer.read"]
    assert all("trail@example.com" not in str(entry) for entry in page["data"])
    assert api.get("/api/v1/audit/verification").json()["ok"] is True
