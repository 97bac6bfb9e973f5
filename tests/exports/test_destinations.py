"""Webhook destinations: audiences POSTed in signed batches to a receiver on this machine, with
retries on 5xx, a clear failure on 4xx, the secret sealed at rest."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from clientela.cli.main import app
from clientela.exports import destinations
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


class Receiver:
    """An HTTP server on 127.0.0.1 that answers with the queued statuses (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setattr(destinations, "RETRY_PAUSES", (0.0, 0.0, 0.0))
    started = Receiver()
    yield started
    started.stop()


def _verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in headers["Clientela-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(parts["v1"], expected.hexdigest())


def test_signed_batches_with_retries(
    api: Any, store: Store, settings: Settings, receiver: Receiver
) -> None:
    factories.registered_purposes(store)
    people = [factories.stored_customer(store, settings, city="Recife") for _ in range(3)]
    factories.stored_customer(store, settings, city="Recife")  # no consent: excluded
    for person in people:
        api.post(
            f"/api/v1/customers/{person['id']}/consents",
            json={"purpose": "marketing_email", "action": "grant"},
        )
    created = api.post(
        "/api/v1/destinations", json={"key": "crm", "url": receiver.url, "batch_size": 2}
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    with store.unit_of_work(write=False) as uow:
        sealed = uow.destinations.get_by_key("crm")["secret_sealed"]  # type: ignore[index]
    assert secret not in sealed
    assert "secret" not in api.get("/api/v1/destinations").json()[0]

    receiver.statuses = [503]  # the first attempt fails, the retry arrives
    api.post("/api/v1/segments", json={"key": "recife", "name": "R", "text": 'city = "Recife"'})
    api.post("/api/v1/segments/recife/materialise")
    delivered = api.post(
        "/api/v1/exports/audience",
        json={"purpose": "marketing_email", "segment": "recife", "destination": "crm"},
    )
    assert delivered.status_code == 200, delivered.text
    summary = delivered.json()
    assert (summary["status"], summary["records"], summary["batches"]) == ("delivered", 3, 2)
    assert summary["excluded"] == {"no consent recorded for this purpose": 1}
    assert len(receiver.requests) == 3
    first, retry, second = receiver.requests
    assert first[0]["Clientela-Delivery"] == retry[0]["Clientela-Delivery"]  # idempotency key
    assert all(_verified(secret, headers, body) for headers, body in receiver.requests)
    batches = [json.loads(body) for _, body in (retry, second)]
    assert [b["batch"] for b in batches] == [1, 2]
    assert sorted(r["customer_id"] for b in batches for r in b["records"]) == sorted(
        p["id"] for p in people
    )
    assert batches[0]["segment"] == "recife"
    assert api.get("/api/v1/destinations").json()[0]["last_delivery"]["status"] == "delivered"


def test_a_refusal_is_reported_and_audited(
    api: Any, store: Store, settings: Settings, receiver: Receiver
) -> None:
    factories.registered_purposes(store)
    factories.stored_customer(store, settings)
    api.post("/api/v1/destinations", json={"key": "crm", "url": receiver.url})
    receiver.statuses = [400]
    refused = api.post(
        "/api/v1/exports/audience", json={"purpose": "analytics", "destination": "crm"}
    )
    assert refused.status_code == 502, refused.text
    assert refused.json()["code"] == "delivery_failed"
    assert "HTTP 400" in refused.json()["detail"]
    assert len(receiver.requests) == 1  # a 4xx is not retried
    assert api.get("/api/v1/destinations").json()[0]["last_delivery"]["status"] == "failed"
    entries = api.get("/api/v1/audit", params={"limit": 500}).json()["data"]
    assert {"export.audience", "destination.deliver"} <= {e["action"] for e in entries}


def test_urls_must_be_https_or_this_machine(api: Any) -> None:
    for url in ("http://example.com/hook", "ftp://x", "https://user:pw@example.com/"):
        refused = api.post("/api/v1/destinations", json={"key": "x", "url": url})
        assert refused.status_code == 422, url
        assert refused.json()["errors"][0]["field"] == "url"
    assert (
        api.post(
            "/api/v1/destinations", json={"key": "ok", "url": "https://hooks.example.com/x"}
        ).status_code
        == 201
    )


def test_the_command_line(cli: CliRunner, receiver: Receiver) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "40", "--seed", "2"]).exit_code == 0
    added = cli.invoke(app, ["destinations", "add", "crm", "--url", receiver.url])
    assert added.exit_code == 0, added.output
    assert len(json.loads(added.stdout)["secret"]) >= 24
    sent = cli.invoke(app, ["export", "audience", "--purpose", "analytics", "--destination", "crm"])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["status"] == "delivered"
    assert receiver.requests
    listed = cli.invoke(app, ["destinations", "list"])
    assert "delivered" in listed.stdout
