"""The tracking API's HTTP contract: keys, limits, gzip, partial batches (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.sources.keys import create_tracking_source
from clientela.storage.store import Store
from tests.factories import actor


@pytest.fixture
def tracking(store: Store, settings: Settings) -> Iterator[tuple[TestClient, str]]:
    with store.unit_of_work() as uow:
        key = create_tracking_source(uow, "site", actor=actor()).write_key
        uow.commit()
    with TestClient(create_app(settings, store)) as client:
        yield client, key


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _track(n: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Clicked",
        "anonymousId": "a",
        "messageId": f"id-{n}",
        **extra,
    }


def test_write_key_by_basic_auth_or_body(tracking: tuple[TestClient, str]) -> None:
    client, key = tracking
    assert client.post("/v1/track", json=_track(1), headers=_basic(key)).status_code == 200
    assert client.post("/v1/track", json=_track(2, writeKey=key)).status_code == 200
    for headers, body in [
        (_basic("wk_nope"), _track(3)),
        ({}, _track(4)),
        ({}, _track(5, writeKey="")),
    ]:
        response = client.post("/v1/track", json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def test_gzip_bodies(tracking: tuple[TestClient, str]) -> None:
    client, key = tracking
    body = gzip.compress(json.dumps({"batch": [_track(6)], "writeKey": key}).encode())
    ok = client.post(
        "/v1/batch",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
    bad = client.post(
        "/v1/batch", content=b"not gzip", headers={"Content-Encoding": "gzip", **_basic(key)}
    )
    assert bad.status_code == 400


def test_size_limits_name_the_limit(tracking: tuple[TestClient, str]) -> None:
    client, key = tracking
    big = _track(7, properties={"blob": "x" * 33_000})
    single = client.post("/v1/track", json=big, headers=_basic(key))
    assert single.status_code == 413 and "32 KB" in single.json()["detail"]
    batch = client.post("/v1/batch", json={"batch": [big, _track(8)]}, headers=_basic(key))
    assert batch.status_code == 200
    assert batch.json()["rejected"] == [
        {"index": 0, "code": "message_too_large", "message": "a message is limited to 32 KB"}
    ]
    huge = {"batch": [_track(n, properties={"blob": "y" * 30_000}) for n in range(20)]}
    too_big = client.post("/v1/batch", json=huge, headers=_basic(key))
    assert too_big.status_code == 413 and "500 KB" in too_big.json()["detail"]


def test_malformed_and_wholly_invalid_input_is_a_4xx(tracking: tuple[TestClient, str]) -> None:
    client, key = tracking
    assert client.post("/v1/track", content=b"{nope", headers=_basic(key)).status_code == 400
    assert client.post("/v1/batch", json={"batch": "x"}, headers=_basic(key)).status_code == 400
    invalid = client.post("/v1/track", json={"event": "E", "anonymousId": "a"}, headers=_basic(key))
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["code"] == "missing_message_id"
    wrong_type = client.post("/v1/page", json=_track(9, type="track"), headers=_basic(key))
    assert wrong_type.status_code == 400


def test_every_call_type_is_accepted(tracking: tuple[TestClient, str]) -> None:
    client, key = tracking
    calls = {
        "identify": {"userId": "u", "traits": {"email": "u@example.com"}},
        "track": {"userId": "u", "event": "Signed Up"},
        "page": {"userId": "u", "name": "Home"},
        "screen": {"userId": "u", "name": "Settings"},
        "group": {"userId": "u", "groupId": "g1"},
        "alias": {"userId": "u", "previousId": "old"},
    }
    for n, (kind, body) in enumerate(calls.items()):
        response = client.post(
            f"/v1/{kind}", json={**body, "messageId": f"c{n}"}, headers=_basic(key)
        )
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["accepted"] == 1
