"""Every kind of bad input gets a problem+json naming the field; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import customer_payload

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "errors"}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"].startswith("urn:clientela:problem:")
    return body


def _count(api: Any) -> int:
    return len(api.get("/api/v1/customers", params={"limit": 100}).json()["data"])


def test_malformed_json(api: Any) -> None:
    response = api.post(
        "/api/v1/customers", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    body = _problem(response, 400)
    assert body["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"nickname": "x"}, "nickname", "unknown_field"),
        ({"household_size": "three"}, "household_size", "type"),
        ({"email": 42}, "email", "type"),
        ({"given_name": "a" * 101}, "given_name", "too_long"),
        ({"email": "ana@"}, "email", "invalid_email"),
        ({"phone": "12345"}, "phone", "invalid_phone"),
        ({"document": "123.456.789-00"}, "document", "invalid_document"),
        ({"birth_date": "2999-01-01"}, "birth_date", "future_date"),
        ({"attributes": {"tier": "gold"}}, "attributes.tier", "undeclared_attribute"),
        ({"identities": [{"kind": "fax", "value": "1"}]}, "identities[0]", "invalid_identity_kind"),
    ],
)
def test_bad_fields_are_named(api: Any, payload: dict[str, Any], field: str, code: str) -> None:
    body = _problem(api.post("/api/v1/customers", json=customer_payload(**payload)), 422)
    assert {"field": field, "code": code} in [
        {k: e[k] for k in ("field", "code")} for e in body["errors"]
    ]
    assert _count(api) == 0


def test_error_messages_do_not_echo_personal_data(api: Any) -> None:
    body = _problem(
        api.post("/api/v1/customers", json=customer_payload(email="secret.person@nowhere")), 422
    )
    assert "secret.person" not in str(body)


def test_duplicate_identity_is_409_with_the_existing_id(api: Any) -> None:
    first = api.post("/api/v1/customers", json=customer_payload(email="one@example.com")).json()
    body = _problem(
        api.post("/api/v1/customers", json=customer_payload(email="One@Example.com")), 409
    )
    assert body["existing_customer_ids"] == [first["id"]]
    assert body["errors"][0]["field"] == "email"
    assert _count(api) == 1


def test_unknown_ids_and_routes(api: Any) -> None:
    assert (
        _problem(api.get("/api/v1/customers/01a205d6-314e-7000-aa27-f0ccaeba521f"), 404)["code"]
        == "not_found"
    )
    assert (
        _problem(api.get("/api/v1/customers/not-a-uuid"), 422)["errors"][0]["field"]
        == "path.customer_id"
    )
    assert _problem(api.get("/api/v1/nothing-here"), 404)
    assert _problem(api.put("/api/v1/customers"), 405)
