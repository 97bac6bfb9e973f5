"""Lifetime value through the interface contract: CDNOW's orders imported with
`import transactions`, then `analytics clv fit` reproduces the published parameters."""

from __future__ import annotations

import csv
import importlib.resources
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clientela.cli.main import app

PUBLISHED = {
    "r": 0.243,
    "alpha": 4.414,
    "a": 0.793,
    "b": 2.426,
    "p": 6.25,
    "q": 3.74,
    "gamma": 15.44,
}


def test_cdnow_through_the_store(cli: CliRunner, tmp_path: Path) -> None:
    source = importlib.resources.files("lifetimes.datasets").joinpath("CDNOW_sample.txt")
    orders = tmp_path / "cdnow.csv"
    with source.open(encoding="utf-8") as raw, orders.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["customer_id", "occurred_at", "amount", "quantity"])
        for line in raw:
            _, sample_id, day, quantity, amount = line.split()
            writer.writerow([int(sample_id), f"{day[:4]}-{day[4:6]}-{day[6:]}", amount, quantity])
    assert cli.invoke(app, ["init"]).exit_code == 0
    imported = cli.invoke(
        app,
        ["import", "transactions", str(orders), "--source", "cdnow", "--id-column", "customer_id"],
    )
    assert imported.exit_code == 0, imported.output
    fitted = cli.invoke(
        app,
        [
            "analytics",
            "clv",
            "fit",
            "--until",
            "1997-09-30",
            "--time-unit",
            "week",
            "--format",
            "json",
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    result = json.loads(fitted.stdout)
    assert result["customers"] == 2357
    for name, published in PUBLISHED.items():
        assert result[name] == pytest.approx(published, rel=0.01), name
