"""The admin's sources and backups pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import csrf, signed_in


def test_a_new_source_shows_its_write_key_once_and_disabling_it_stops_the_key(
    store: Store, settings: Settings
) -> None:
    admin = factories.user(store, "admin", "root@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, admin, "/admin/sources")
        token = csrf(client.get("/admin/sources").text)
        bad = client.post(
            "/admin/sources",
            data={
                "csrf_token": token,
                "action": "create",
                "name": "shop-app",
                "trust_rank": "high",
            },
        )
        assert bad.status_code == 422 and "trust_rank: must be a whole number" in bad.text
        made = client.post(
            "/admin/sources",
            data={"csrf_token": token, "action": "create", "name": "shop-app", "trust_rank": "60"},
        )
        key = re.search(r"<code data-write-key>([^<]+)</code>", made.text).group(1)  # type: ignore[union-attr]
        event = {"userId": "u-1", "event": "Signed Up", "messageId": "m-1"}
        assert client.post("/v1/track", json=event, auth=(key, "")).status_code == 200
        assert key not in client.get("/admin/sources").text
        again = client.post(
            "/admin/sources", data={"csrf_token": token, "action": "create", "name": "shop-app"}
        )
        assert again.status_code == 409 and "name: is taken" in again.text
        client.post(
            "/admin/sources", data={"csrf_token": token, "action": "disable", "name": "shop-app"}
        )
        assert "disabled " in client.get("/admin/sources").text
        refused = client.post("/v1/track", json={**event, "messageId": "m-2"}, auth=(key, ""))
        assert refused.status_code == 401


def test_backups_are_made_listed_and_verified_from_the_page(
    sqlite_store: Store, settings: Settings
) -> None:
    admin = factories.user(sqlite_store, "admin", "root@example.com", mfa=True)
    factories.joana_silva(sqlite_store, settings, 3)
    with TestClient(create_app(settings, sqlite_store)) as client:
        signed_in(client, admin, "/admin/backups")
        page = client.get("/admin/backups").text
        assert "No backups here yet." in page
        token = csrf(page)
        made = client.post("/admin/backups", data={"csrf_token": token, "action": "create"})
        assert made.status_code == 200 and "data-made" in made.text
        name = re.search(r"<code>(clientela-[0-9TZ]+\.backup)</code>", made.text).group(1)  # type: ignore[union-attr]
        checked = client.post(
            "/admin/backups", data={"csrf_token": token, "action": "verify", "name": name}
        )
        assert checked.status_code == 200 and "Backup intact" in checked.text
        escape = client.post(
            "/admin/backups",
            data={"csrf_token": token, "action": "verify", "name": "../clientela.db"},
        )
        assert escape.status_code == 422 and "name: must be the file name" in escape.text
        (settings.backups_dir / name).write_bytes(b"CLIENTELA-BACKUP\n\x00\x00\x00\x02{}")
        damaged = client.post(
            "/admin/backups", data={"csrf_token": token, "action": "verify", "name": name}
        )
        assert damaged.status_code == 422
    with sqlite_store.unit_of_work(write=False) as uow:
        actions = [entry["action"] for entry in uow.audit.search(limit=5000)]
    assert "backup.create" in actions and "backup.verify" in actions
