"""Segment preview over the API and `segments count` on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from clientela.cli.main import app
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


def test_preview_counts_and_samples(api: Any, store: Store, settings: Settings) -> None:
    for city in ("Recife", "Recife", "Natal"):
        factories.stored_customer(store, settings, city=city)
    definition = {
        "all": [
            {"field": "city", "op": "eq", "value": "Recife"},
            {"field": "identity.email", "op": "not_empty"},
        ]
    }
    answer = api.post("/api/v1/segments/preview", json={"definition": definition, "sample": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 2
    assert len(answer.json()["sample"]) == 1
    bad = api.post(
        "/api/v1/segments/preview",
        json={"definition": {"any": [{"field": "city", "op": "gt", "value": "A"}]}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "definition.any[0].op"


def test_segments_count_from_a_file(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "60", "--seed", "7"]).exit_code == 0
    definition = tmp_path / "brazilians.json"
    definition.write_text(json.dumps({"field": "country", "op": "eq", "value": "BR"}))
    everyone = tmp_path / "everyone.json"
    everyone.write_text(json.dumps({"not": {"field": "country", "op": "eq", "value": "ZZ"}}))
    counted = cli.invoke(app, ["segments", "count", "--definition", str(definition)])
    total = cli.invoke(app, ["segments", "count", "--definition", str(everyone)])
    assert counted.exit_code == 0, counted.output
    assert 0 < int(counted.stdout) < int(total.stdout)
    as_text = cli.invoke(app, ["segments", "text", "--definition", str(definition)])
    assert as_text.stdout.strip() == 'country = "BR"'
    by_text = cli.invoke(app, ["segments", "count", "--text", 'country = "BR"'])
    assert by_text.stdout == counted.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = cli.invoke(app, ["segments", "count", "--definition", str(broken)])
    assert refused.exit_code == 1


def test_the_text_form_in_the_api_and_cli(api: Any, store: Store, settings: Settings) -> None:
    factories.stored_customer(store, settings, city="Olinda")
    answer = api.post(
        "/api/v1/segments/preview", json={"text": 'city = "Olinda" and not identity.phone is empty'}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 1
    broken = api.post("/api/v1/segments/preview", json={"text": 'city = "Olinda" and'})
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "text[19]"
    both = api.post("/api/v1/segments/preview", json={"text": "a = 1", "definition": {}})
    assert both.status_code == 422
