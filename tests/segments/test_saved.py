"""Saved segments: materialisation with entered / exited history, segments defined on segments,
the refresh schedule, the API with masking, audience exports from a segment, the CLI."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clientela.cli.main import app
from clientela.customers.service import update_customer
from clientela.domain.errors import Conflict, ValidationFailed
from clientela.privacy.bundle import build_bundle
from clientela.segments.service import (
    create_segment,
    delete_segment,
    materialise_segment,
    refresh_due_segments,
    segment_changes,
    update_segment,
)
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.conftest import api_key_for

MONDAY = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _save(store: Store, key: str, definition: Any, **extra: Any) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        saved = create_segment(
            uow,
            {"key": key, "name": key.title(), "definition": definition, **extra},
            actor=factories.actor(),
        )
        uow.commit()
    return saved


def _materialise(store: Store, key: str, at: datetime) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        result = materialise_segment(uow, key, actor=factories.actor(), now=at)
        uow.commit()
    return result


def _move(store: Store, customer_id: str, city: str) -> None:
    with store.unit_of_work() as uow:
        update_customer(
            uow, customer_id, {"city": city}, actor=factories.actor(), settings=factories.settings()
        )
        uow.commit()


def test_materialising_records_who_entered_and_who_left(store: Store, settings: Settings) -> None:
    ana, bia, caio = (
        factories.stored_customer(store, settings, city=city)
        for city in ("Recife", "Recife", "Natal")
    )
    _save(store, "recife", {"field": "city", "op": "eq", "value": "Recife"})
    first = _materialise(store, "recife", MONDAY)
    assert (first["members"], first["entered"], first["exited"]) == (2, 2, 0)

    _move(store, bia["id"], "Natal")
    _move(store, caio["id"], "Recife")
    second = _materialise(store, "recife", MONDAY + timedelta(days=2))
    assert (second["members"], second["entered"], second["exited"]) == (2, 1, 1)
    again = _materialise(store, "recife", MONDAY + timedelta(days=3))
    assert (again["entered"], again["exited"]) == (0, 0)  # nothing changed, nothing recorded

    _move(store, bia["id"], "Recife")  # back again: a second stay
    _materialise(store, "recife", MONDAY + timedelta(days=4))

    with store.unit_of_work(write=False) as uow:
        week = segment_changes(
            uow,
            "recife",
            actor=factories.actor(),
            since=MONDAY + timedelta(days=1),
            until=MONDAY + timedelta(days=7),
        )
        first_day = segment_changes(
            uow, "recife", actor=factories.actor(), since=MONDAY, until=MONDAY + timedelta(days=1)
        )
        stays = uow.segments.memberships_of(bia["id"])
    assert [(m["customer_id"], m["change"]) for m in week["changes"]] == [
        (bia["id"], "exited"),
        (caio["id"], "entered"),
        (bia["id"], "entered"),
    ] or [(m["customer_id"], m["change"]) for m in week["changes"]] == [
        (caio["id"], "entered"),
        (bia["id"], "exited"),
        (bia["id"], "entered"),
    ]
    assert (week["entered"], week["exited"]) == (2, 1)
    assert {m["customer_id"] for m in first_day["changes"]} == {ana["id"], bia["id"]}
    assert [s["exited_at"] is None for s in stays] == [True, False]  # current stay first


def test_changes_are_paged_without_gaps(store: Store, settings: Settings) -> None:
    people = [factories.stored_customer(store, settings, city="Olinda") for _ in range(5)]
    _save(store, "olinda", {"field": "city", "op": "eq", "value": "Olinda"})
    _materialise(store, "olinda", MONDAY)
    seen: list[str] = []
    cursor = None
    with store.unit_of_work(write=False) as uow:
        while True:
            page = segment_changes(
                uow, "olinda", actor=factories.actor(), since=MONDAY, limit=2, cursor=cursor
            )
            seen.extend(m["customer_id"] for m in page["changes"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert sorted(seen) == sorted(p["id"] for p in people)


def test_segments_on_segments_materialise_in_order(store: Store, settings: Settings) -> None:
    recife = factories.stored_customer(store, settings, city="Recife")
    factories.stored_customer(store, settings, city="Natal")
    _save(store, "recife", {"field": "city", "op": "eq", "value": "Recife"})
    _save(store, "not_recife", {"not": {"segment": "recife"}})
    result = _materialise(store, "not_recife", MONDAY)  # materialises "recife" first
    assert result["members"] == 1
    with store.unit_of_work(write=False) as uow:
        assert uow.segments.get_by_key("recife")["member_count"] == 1  # type: ignore[index]
        assert [s["key"] for s in uow.segments.memberships_of(recife["id"])] == ["recife"]

    with store.unit_of_work() as uow, pytest.raises(ValidationFailed) as cycle:
        update_segment(
            uow, "recife", {"definition": {"segment": "not_recife"}}, actor=factories.actor()
        )
    assert cycle.value.errors[0].field == "definition"
    assert "recife → not_recife → recife" in cycle.value.errors[0].message
    with store.unit_of_work() as uow, pytest.raises(Conflict):
        delete_segment(uow, "recife", actor=factories.actor())
    with store.unit_of_work() as uow, pytest.raises(ValidationFailed) as unknown:
        create_segment(
            uow,
            {"key": "x", "name": "X", "definition": {"all": [{"segment": "nope"}]}},
            actor=factories.actor(),
        )
    assert unknown.value.errors[0].field == "definition.all[0].segment"


def test_invalid_segments_name_every_field(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValidationFailed) as caught:
        create_segment(
            uow,
            {"key": "Bad Key", "name": "", "definition": {"field": "city"}, "refresh_minutes": 1},
            actor=factories.actor(),
        )
    assert {e.field for e in caught.value.errors} == {
        "key",
        "name",
        "refresh_minutes",
        "definition.op",
    }


def test_the_schedule_refreshes_only_what_is_due(store: Store, settings: Settings) -> None:
    factories.stored_customer(store, settings, city="Recife")
    _save(store, "hourly", {"field": "city", "op": "eq", "value": "Recife"}, refresh_minutes=60)
    _save(store, "on_demand", {"field": "city", "op": "eq", "value": "Recife"})
    done = refresh_due_segments(store, actor=factories.actor())
    assert [d["key"] for d in done] == ["hourly"]
    assert refresh_due_segments(store, actor=factories.actor()) == []  # not due again yet
    with store.unit_of_work() as uow:
        row = uow.segments.get_by_key("hourly")
        assert row is not None
        uow.segments.update(
            str(row["id"]), {"materialised_at": row["materialised_at"] - timedelta(minutes=61)}
        )
        uow.commit()
    assert [d["key"] for d in refresh_due_segments(store, actor=factories.actor())] == ["hourly"]


def test_the_access_bundle_lists_segment_stays(store: Store, settings: Settings) -> None:
    person = factories.stored_customer(store, settings, city="Recife")
    _save(store, "recife", {"field": "city", "op": "eq", "value": "Recife"})
    _materialise(store, "recife", MONDAY)
    with store.unit_of_work() as uow:
        bundle = build_bundle(uow, person["id"], actor=factories.actor())
    assert [(s.segment, s.exited_at) for s in bundle.segments] == [("recife", None)]


def test_the_api_saves_materialises_and_masks(api: Any, store: Store, settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from clientela.api.app import create_app

    person = factories.stored_customer(
        store, settings, city="Recife", email="joana.silva@gmail.com"
    )
    created = api.post(
        "/api/v1/segments",
        json={"key": "recife", "name": "Recife", "text": 'city = "Recife"', "refresh_minutes": 30},
    )
    assert created.status_code == 201, created.text
    assert created.json()["definition"] == {"field": "city", "op": "eq", "value": "Recife"}
    assert created.json()["text"] == 'city = "Recife"'
    assert (
        api.post(
            "/api/v1/segments", json={"key": "recife", "name": "R", "text": 'city = "X"'}
        ).status_code
        == 409
    )
    materialised = api.post("/api/v1/segments/recife/materialise")
    assert materialised.status_code == 200, materialised.text
    assert materialised.json()["members"] == 1
    assert api.get(f"/api/v1/customers/{person['id']}/segments").json()[0]["key"] == "recife"
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    changes = api.get("/api/v1/segments/recife/changes", params={"since": since})
    assert changes.status_code == 200, changes.text
    assert changes.json()["changes"][0]["customer_id"] == person["id"]
    patched = api.patch("/api/v1/segments/recife", json={"name": "Recife (PE)"})
    assert patched.json()["name"] == "Recife (PE)"
    assert patched.json()["definition"]["value"] == "Recife"

    with TestClient(
        create_app(settings, store),
        headers={"Authorization": f"Bearer {api_key_for(store, 'analyst')}"},
    ) as analyst:
        members = analyst.get("/api/v1/segments/recife/members")
        assert members.status_code == 200, members.text
        assert members.json()["data"][0]["email"] == "j***@g***.com"
    with TestClient(
        create_app(settings, store),
        headers={"Authorization": f"Bearer {api_key_for(store, 'viewer')}"},
    ) as viewer:
        assert viewer.get("/api/v1/segments").status_code == 403
        assert viewer.post("/api/v1/segments/recife/materialise").status_code == 403

    assert api.delete("/api/v1/segments/recife").status_code == 204
    assert api.get("/api/v1/segments/recife").status_code == 404


def test_audience_export_of_a_segment(api: Any, store: Store, settings: Settings) -> None:
    factories.registered_purposes(store)
    people = [factories.stored_customer(store, settings, city="Recife") for _ in range(3)]
    factories.stored_customer(store, settings, city="Natal")
    for person in people[:2]:
        granted = api.post(
            f"/api/v1/customers/{person['id']}/consents",
            json={"purpose": "marketing_email", "action": "grant"},
        )
        assert granted.status_code == 201, granted.text
    api.post("/api/v1/segments", json={"key": "recife", "name": "R", "text": 'city = "Recife"'})
    unmaterialised = api.post(
        "/api/v1/exports/audience", json={"purpose": "marketing_email", "segment": "recife"}
    )
    assert unmaterialised.status_code == 409
    api.post("/api/v1/segments/recife/materialise")
    exported = api.post(
        "/api/v1/exports/audience",
        json={"purpose": "marketing_email", "segment": "recife", "format": "parquet"},
    )
    assert exported.status_code == 200, exported.text
    table = pq.read_table(io.BytesIO(exported.content))
    assert sorted(table.column("customer_id").to_pylist()) == sorted(p["id"] for p in people[:2])
    assert exported.headers["Clientela-Exported"] == "2"
    assert "no consent recorded for this purpose=1" in exported.headers["Clientela-Excluded"]


def test_the_cli_saves_materialises_and_exports(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "60", "--seed", "3"]).exit_code == 0
    saved = cli.invoke(
        app, ["segments", "save", "brazil", "--name", "Brazil", "--text", 'country = "BR"']
    )
    assert saved.exit_code == 0, saved.output
    done = cli.invoke(app, ["segments", "materialise", "brazil"])
    assert done.exit_code == 0, done.output
    members = json.loads(done.stdout)["members"]
    counted = cli.invoke(app, ["segments", "count", "--text", 'country = "BR"'])
    assert members == int(counted.stdout) > 0
    listed = cli.invoke(app, ["segments", "list"])
    assert "brazil" in listed.stdout
    changes = cli.invoke(app, ["segments", "changes", "brazil", "--since", "2000-01-01"])
    assert len(changes.stdout.splitlines()) == members
    out = tmp_path / "audience.parquet"
    exported = cli.invoke(
        app,
        [
            "export",
            "audience",
            "--purpose",
            "analytics",
            "--segment",
            "brazil",
            "--format",
            "parquet",
            "--out",
            str(out),
        ],
    )
    assert exported.exit_code == 0, exported.output
    assert 0 < pq.read_table(out).num_rows <= members
    refused = cli.invoke(
        app,
        [
            "export",
            "audience",
            "--purpose",
            "nope",
            "--segment",
            "brazil",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert refused.exit_code != 0
    assert not (tmp_path / "x.csv").exists()  # nothing half-written
    assert not list(tmp_path.glob(".x.csv.*"))
