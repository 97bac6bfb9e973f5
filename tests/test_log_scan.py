"""No personal data in the application logs: the whole end-to-end path (REST API, tracking API,
import with a bad row, invalid input, access and erasure requests) runs with marker values and
debug logging on, and no marker appears in any log record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.ingest.imports import import_customers
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.privacy.test_erasure_proof import EMAIL, MARKERS, _arrive, _run_request, _setup


def test_no_marker_reaches_the_logs(
    store: Store, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, write_key = _setup(store)
    with TestClient(
        create_app(settings, store), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        _arrive(client, write_key, store, settings, tmp_path)
        refused = client.post(
            "/api/v1/customers",
            json={"email": "zqxmark-not-an-email", "phone": "zqxmark", "birth_date": "zqxmark"},
        )
        assert refused.status_code == 422
        searched = client.post("/api/v1/customers/search", json={"q": "Zqxmarkgiven"})
        assert searched.status_code == 200
        bad = tmp_path / "bad.csv"
        bad.write_text("email,birth_date\nzqxmark@@broken,1911-11-11\n", encoding="utf-8")
        import_customers(store, bad, settings=settings, actor=factories.actor())
        _run_request(client, "access")
        _run_request(client, "erasure")
        again = client.post("/api/v1/customers", json={"email": EMAIL})
        assert again.status_code == 409
    assert caplog.records, "the flow logs nothing at all: the scan would prove nothing"
    text = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    ).lower()
    for marker in MARKERS:
        assert marker not in text, f"{marker} was written to the log"
