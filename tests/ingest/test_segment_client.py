"""The official segment-analytics-python client, unmodified, pointed at a real Clientela server."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
from segment.analytics import Client

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.sources.keys import create_tracking_source
from clientela.storage.store import Store
from tests.conftest import api_key_for
from tests.factories import actor
from tests.servers import serving


def _source_key(store: Store) -> str:
    with store.unit_of_work() as uow:
        created = create_tracking_source(uow, f"web-{uuid.uuid4().hex[:6]}", actor=actor())
        uow.commit()
    return created.write_key


def _api(url: str, key: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("gzip", [False, True])
def test_official_client_end_to_end(sqlite_store: Store, settings: Settings, gzip: bool) -> None:
    write_key = _source_key(sqlite_store)
    api_key = api_key_for(sqlite_store)
    errors: list[Any] = []
    with serving(create_app(settings, sqlite_store)) as url:
        client = Client(
            write_key,
            host=url,
            gzip=gzip,
            sync_mode=True,
            max_retries=1,
            on_error=lambda error, batch: errors.append(error),
        )
        client.page(anonymous_id="anon-1", name="Home", properties={"path": "/"})
        client.track(
            anonymous_id="anon-1",
            event="Product Viewed",
            properties={"product_id": "CAF-001", "price": 34.9},
        )
        client.identify(
            user_id="u-42",
            anonymous_id="anon-1",
            traits={
                "email": "Ana.Souza@Example.com",
                "firstName": "ana",
                "lastName": "SOUZA",
                "phone": "(11) 98765-4321",
            },
        )
        client.track(
            user_id="u-42",
            event="Order Completed",
            properties={
                "order_id": "PED-1",
                "total": 123.45,
                "currency": "BRL",
                "products": [{"product_id": "CAF-001", "quantity": 2}],
            },
        )
        client.group(user_id="u-42", group_id="acme", traits={"name": "Acme"})
        client.identify(user_id="u-77", traits={"email": "other.person@example.com"})
        client.alias(previous_id="u-77", user_id="u-42")
        client.flush()
        assert errors == []

        found = _api(
            url,
            api_key,
            "/api/v1/customers/lookup",
            {"kind": "email", "value": "ana.souza@example.com"},
        )
        by_phone = _api(url, api_key, "/api/v1/customers/search", {"q": "11 98765 4321"})
        timeline = _api(url, api_key, f"/api/v1/customers/{found['id']}/timeline")
    assert found["full_name"] == "Ana Souza"
    assert by_phone["data"][0]["id"] == found["id"]
    kinds = {(i["kind"], i["value"]) for i in found["identities"]}
    assert {
        ("user_id", "u-42"),
        ("anonymous_id", "anon-1"),
        ("user_id", "u-77"),
        ("email", "other.person@example.com"),
    } <= kinds
    names = [entry["name"] for entry in timeline["data"]]
    assert {"Home", "Product Viewed", "Order Completed", "PED-1"} <= set(names)
    assert found["order_count"] == 1
    assert found["total_revenue"] == 123.45


def test_a_retried_batch_is_stored_once(sqlite_store: Store, settings: Settings) -> None:
    write_key = _source_key(sqlite_store)
    batch = {
        "batch": [
            {
                "type": "track",
                "event": "Signed Up",
                "anonymousId": "a-1",
                "messageId": f"m-{n}",
                "timestamp": "2026-01-31T12:00:00-03:00",
            }
            for n in range(3)
        ],
        "writeKey": write_key,
    }
    with serving(create_app(settings, sqlite_store)) as url:
        answers = []
        for _ in range(2):
            request = urllib.request.Request(
                url + "/v1/batch",
                data=json.dumps(batch).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.append((response.status, json.loads(response.read())))
    assert answers[0] == (
        200,
        {"success": True, "accepted": 3, "duplicates": 0, "rejected": [], "warnings": []},
    )
    assert answers[1][1]["accepted"] == 0 and answers[1][1]["duplicates"] == 3
    with sqlite_store.unit_of_work(write=False) as uow:
        assert (
            len(
                uow.events.known_message_ids(
                    uow.sources.get_by_write_key_hash(
                        __import__("hashlib").sha256(write_key.encode()).hexdigest()
                    )["id"],
                    ["m-0", "m-1", "m-2"],
                )
            )
            == 3
        )
