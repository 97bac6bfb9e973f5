"""The customers API end to end (TestClient), on both engines."""

from __future__ import annotations

from typing import Any

from tests.factories import customer_payload


def test_create_get_patch_delete(api: Any) -> None:
    created = api.post(
        "/api/v1/customers",
        json=customer_payload(full_name="ana LIMA", given_name=..., family_name=...),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/customers/{body['id']}"
    assert body["given_name"] == "Ana" and body["family_name"] == "Lima"

    got = api.get(f"/api/v1/customers/{body['id']}")
    assert got.status_code == 200
    assert got.headers["etag"] == 'W/"1"'

    patched = api.patch(
        f"/api/v1/customers/{body['id']}",
        json={"city": "Recife"},
        headers={"If-Match": got.headers["etag"]},
    )
    assert patched.status_code == 200 and patched.json()["city"] == "Recife"
    stale = api.patch(
        f"/api/v1/customers/{body['id']}", json={"city": "Natal"}, headers={"If-Match": 'W/"1"'}
    )
    assert stale.status_code == 409

    assert api.delete(f"/api/v1/customers/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/customers/{body['id']}").status_code == 404


def test_list_with_filters_and_cursor(api: Any) -> None:
    for country in ("BR", "BR", "US"):
        phone = None if country == "US" else ...
        payload = customer_payload(
            country=country, postal_code="94105" if country == "US" else "01310-100"
        )
        if phone is None:
            payload.pop("phone")
        assert api.post("/api/v1/customers", json=payload).status_code == 201
    first = api.get("/api/v1/customers", params={"limit": 1, "country": "br"}).json()
    assert len(first["data"]) == 1 and first["next_cursor"]
    second = api.get(
        "/api/v1/customers", params={"limit": 5, "country": "BR", "cursor": first["next_cursor"]}
    ).json()
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    assert api.get("/api/v1/customers", params={"cursor": "%%%"}).status_code == 400


def test_search_and_lookup_take_pii_in_the_body(api: Any) -> None:
    created = api.post("/api/v1/customers", json=customer_payload(phone="(31) 99123-4567")).json()
    found = api.post("/api/v1/customers/search", json={"q": "+55 31 99123 4567"}).json()
    assert found["count"] == 1 and found["data"][0]["id"] == created["id"]
    looked = api.post("/api/v1/customers/lookup", json={"kind": "phone", "value": "31991234567"})
    assert looked.status_code == 200 and looked.json()["id"] == created["id"]
    missing = api.post("/api/v1/customers/lookup", json={"kind": "email", "value": "no@x.org"})
    assert missing.status_code == 404


def test_timeline_route(api: Any) -> None:
    created = api.post("/api/v1/customers", json=customer_payload()).json()
    response = api.get(f"/api/v1/customers/{created['id']}/timeline", params={"kind": "order"})
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}


def test_attribute_registry_routes(api: Any) -> None:
    listed = api.get("/api/v1/attributes").json()
    assert {"email", "household_size", "interests"} <= {a["key"] for a in listed["data"]}
    declared = api.post(
        "/api/v1/attributes",
        json={
            "key": "loyalty_tier",
            "type": "enum",
            "category": "behavioural",
            "sensitivity": "personal",
            "enum_values": ["gold", "silver"],
        },
    )
    assert declared.status_code == 201, declared.text
    assert (
        api.post(
            "/api/v1/attributes",
            json={
                "key": "loyalty_tier",
                "type": "string",
                "category": "behavioural",
                "sensitivity": "personal",
            },
        ).status_code
        == 409
    )
    widened = api.patch(
        "/api/v1/attributes/loyalty_tier", json={"enum_values": ["gold", "silver", "bronze"]}
    )
    assert widened.status_code == 200
    narrowed = api.patch("/api/v1/attributes/loyalty_tier", json={"enum_values": ["gold"]})
    assert narrowed.status_code == 422
    customer = api.post(
        "/api/v1/customers", json=customer_payload(attributes={"loyalty_tier": "bronze"})
    )
    assert customer.status_code == 201
    assert api.delete("/api/v1/attributes/loyalty_tier").status_code == 409
    assert (
        api.patch(
            f"/api/v1/customers/{customer.json()['id']}",
            json={"attributes": {"loyalty_tier": None}},
        ).json()["attributes"]
        == {}
    )
    assert api.delete("/api/v1/attributes/loyalty_tier").status_code == 204
    assert api.delete("/api/v1/attributes/email").status_code == 409
