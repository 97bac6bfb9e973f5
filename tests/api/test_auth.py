"""Every /api/v1 route needs a key; the route table drives the test, so new routes are covered."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.security import policy
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.conftest import api_key_for

PUBLIC = {"/api/health", "/api/ping"}


def _concrete(path: str) -> str:
    return path.replace("{customer_id}", "01a205d6-314e-7000-aa27-f0ccaeba521f").replace(
        "{key}", "email"
    )


def _routes() -> list[tuple[str, str]]:
    """Every documented operation under /api/v1, from the app's own OpenAPI document."""
    schema = create_app(Settings(), Store("sqlite://", keyring=factories.TEST_KEYRING)).openapi()
    routes = sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
        # sign-in and its steps authenticate with the session cookie (tests/security)
        if policy.ROUTES[(method.upper(), path)] not in (policy.PUBLIC, policy.SESSION)
    )
    assert len(routes) >= 10
    return routes


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_api_route_refuses_without_a_key(sqlite_store: Store, method: str, path: str) -> None:
    with TestClient(create_app(Settings(), sqlite_store)) as client:
        response = client.request(method, _concrete(path), json={})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        bad = client.request(
            method, _concrete(path), json={}, headers={"Authorization": "Bearer clk_wrong"}
        )
        assert bad.status_code == 401


def test_public_routes(sqlite_store: Store) -> None:
    with TestClient(create_app(Settings(), sqlite_store)) as client:
        assert client.get("/api/health").json()["status"] == "ok"
        assert client.get("/api/ping").text == "pong"
        assert client.get("/").status_code == 200


def test_read_only_key_cannot_write(sqlite_store: Store) -> None:
    token = api_key_for(sqlite_store, role="viewer")
    with TestClient(create_app(Settings(), sqlite_store), headers={"X-API-Key": token}) as client:
        assert client.get("/api/v1/customers").status_code == 200
        forbidden = client.post("/api/v1/customers", json={"city": "Recife"})
        assert forbidden.status_code == 403


def test_revoked_key_stops_working(sqlite_store: Store) -> None:
    from clientela.security.apikeys import create_api_key, revoke_api_key
    from tests.factories import actor

    with sqlite_store.unit_of_work() as uow:
        key = create_api_key(uow, name="short-lived", role="admin", actor=actor())
        uow.commit()
    with TestClient(
        create_app(Settings(), sqlite_store), headers={"Authorization": f"Bearer {key.token}"}
    ) as client:
        assert client.get("/api/v1/customers").status_code == 200
        with sqlite_store.unit_of_work() as uow:
            revoke_api_key(uow, key.id, actor=actor())
            uow.commit()
        response = client.get("/api/v1/customers")
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]


def test_docs_work_offline(sqlite_store: Store) -> None:
    with TestClient(create_app(Settings(), sqlite_store)) as client:
        page = client.get("/api/docs").text
        assert "cdn" not in page.lower() and "https://" not in page.replace(
            "https://swagger.io", ""
        )
        assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200
        schema: dict[str, Any] = client.get("/api/openapi.json").json()
        assert "Problem" in schema["components"]["schemas"]
