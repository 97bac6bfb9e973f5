"""The access bundle follows its published schema and round-trips: exported from one store,
imported into another, exported again, it says the same about the person."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from clientela.domain.actor import Actor
from clientela.domain.errors import ValidationFailed
from clientela.ingest.service import ingest_messages
from clientela.privacy.bundle import build_bundle, import_bundle, read_bundle, write_bundle
from clientela.privacy.consent import record_consent
from clientela.settings import Settings
from clientela.sources.keys import create_tracking_source
from clientela.storage.store import Store
from tests import factories

ROOT = Path(__file__).parent.parent.parent
ACTOR = factories.actor()


def _fresh_store(path: Path, template: bytes) -> Store:
    path.write_bytes(template)
    store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
    factories.registered_purposes(store)
    return store


def _person(store: Store, settings: Settings) -> str:
    person = factories.stored_customer(store, settings, occupation="Engineer")
    with store.unit_of_work() as uow:
        source = uow.sources.get_by_name("api")
        assert source is not None
        create_tracking_source(uow, "shop", actor=ACTOR)
        shop = uow.sources.get_by_name("shop")
        messages = [
            {
                "type": "track",
                "messageId": f"m-{n}",
                "userId": f"user-{person['id'][:8]}",
                "event": name,
                "properties": properties,
                "context": {"ip": "192.0.2.1"},
                "timestamp": f"2026-05-0{n + 1}T10:00:00Z",
            }
            for n, (name, properties) in enumerate(
                [
                    ("Product Viewed", {"sku": "CAF-001"}),
                    (
                        "Order Completed",
                        {
                            "order_id": "o-1",
                            "revenue": 34.9,
                            "currency": "BRL",
                            "products": [{"sku": "CAF-001", "price": 34.9, "quantity": 1}],
                        },
                    ),
                ]
            )
        ]
        messages.insert(
            0,
            {
                "type": "identify",
                "messageId": "m-id",
                "userId": f"user-{person['id'][:8]}",
                "traits": {"email": person["email"]},
                "timestamp": "2026-05-01T09:00:00Z",
            },
        )
        ingest_messages(
            uow,
            shop,
            messages,
            actor=ACTOR,
            settings=settings,
            received_at=datetime(2026, 5, 5, tzinfo=UTC),
        )
        record_consent(
            uow,
            person["id"],
            "marketing_email",
            "grant",
            actor=ACTOR,
            settings=settings,
            evidence={"notice_version": "v1", "form": "checkout"},
        )
        uow.commit()
    return str(person["id"])


def _comparable(bundle: dict[str, Any]) -> dict[str, Any]:
    """What must survive a round trip (ids, stamps and the audit trail are the store's own)."""
    profile = {k: v for k, v in bundle["profile"].items() if k not in ("quality_score",)}
    return {
        "profile": profile,
        "attributes": bundle["attributes"],
        "identities": sorted((i["kind"], i["value"]) for i in bundle["identities"]),
        "events": [
            (e["message_id"], e["type"], e["name"], e["properties"], e["context"], e["occurred_at"])
            for e in bundle["events"]
        ],
        "transactions": [
            {k: v for k, v in t.items() if k not in ("source",)} for t in bundle["transactions"]
        ],
        "consents": [
            (c["purpose"], c["action"], c["mechanism"], c["evidence"], c["occurred_at"])
            for c in bundle["consents"]
        ],
    }


def test_bundle_validates_and_round_trips(
    tmp_path: Path, settings: Settings, request: pytest.FixtureRequest
) -> None:
    template: bytes = request.getfixturevalue("_sqlite_template")
    schema = json.loads((ROOT / "docs/privacy/access-bundle.schema.json").read_text())
    one = _fresh_store(tmp_path / "one.db", template)
    two = _fresh_store(tmp_path / "two.db", template)
    try:
        customer_id = _person(one, settings)
        with one.unit_of_work() as uow:
            first = build_bundle(uow, customer_id, actor=ACTOR)
            uow.commit()
        path = write_bundle(first, tmp_path / "bundle.zip")
        exported = first.model_dump(mode="json")
        jsonschema.validate(exported, schema)
        assert len(exported["events"]) == 3 and len(exported["transactions"]) == 1

        with two.unit_of_work() as uow:
            imported_id = import_bundle(uow, read_bundle(path), actor=ACTOR, settings=settings)
            uow.commit()
        with two.unit_of_work() as uow:
            second = build_bundle(uow, imported_id, actor=Actor.cli()).model_dump(mode="json")
            uow.commit()
        jsonschema.validate(second, schema)
        assert _comparable(second) == _comparable(exported)
    finally:
        one.dispose()
        two.dispose()


def test_a_damaged_bundle_is_refused_naming_the_problem(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bundle.json", json.dumps({"format": "clientela.access-bundle"}))
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(path)
    assert any(error.field == "customer_id" for error in caught.value.errors)
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(ValidationFailed, match="not an access bundle"):
        read_bundle(tmp_path / "not.zip")
