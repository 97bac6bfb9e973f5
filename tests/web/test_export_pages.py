"""Exporting a saved segment for a purpose from the segments page."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.privacy.consent import record_consent
from clientela.segments.service import create_segment, materialise_segment
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import csrf, signed_in


def test_a_segment_exports_only_the_people_eligible_for_the_purpose(
    store: Store, settings: Settings
) -> None:
    factories.registered_purposes(store)
    consented = factories.joana_silva(store, settings, 51)
    factories.stored_customer(store, settings, given_name="Rui", email="rui@example.com")
    with store.unit_of_work() as uow:
        record_consent(
            uow,
            consented["id"],
            "marketing_email",
            "grant",
            actor=factories.actor(),
            settings=settings,
            evidence={"notice_version": "v1", "form": "checkout"},
        )
        create_segment(
            uow,
            {
                "key": "named",
                "name": "Named",
                "definition": {"field": "given_name", "op": "not_empty"},
            },
            actor=factories.actor(),
        )
        materialise_segment(uow, "named", actor=factories.actor())
        uow.commit()
    marketer = factories.user(store, "marketer", "caio@example.com")
    support = factories.user(store, "support", "ana@example.com")
    app = create_app(settings, store)
    with TestClient(app) as client:
        signed_in(client, marketer, "/segments")
        page = client.get("/segments").text
        assert 'action="/segments/named/export"' in page
        token = csrf(page)
        answer = client.post(
            "/segments/named/export",
            data={"csrf_token": token, "purpose": "marketing_email", "format": "csv"},
        )
        assert answer.status_code == 200
        assert answer.headers["content-disposition"] == (
            'attachment; filename="named-marketing_email.csv"'
        )
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [row["customer_id"] for row in rows] == [consented["id"]]
        assert answer.headers["clientela-excluded"] == "no consent recorded for this purpose=1"
        bad = client.post(
            "/segments/named/export", data={"csrf_token": token, "purpose": "Marketing!"}
        )
        assert bad.status_code == 422 and "purpose: choose a registered one" in bad.text
    with store.unit_of_work(write=False) as uow:
        entries = uow.audit.search(customer_id=consented["id"])
    assert [e["action"] for e in entries if e["action"] == "export.audience"] == ["export.audience"]
    with TestClient(app) as client:
        signed_in(client, support, "/customers")
        refused = client.post(
            "/segments/named/export",
            data={"csrf_token": "x", "purpose": "marketing_email", "format": "csv"},
        )
        assert refused.status_code == 403  # support may not export audiences
