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

    scored = cli.invoke(
        app, ["analytics", "clv", "score", "--until", "1997-09-30", "--horizon", "39"]
    )
    assert scored.exit_code == 0, scored.output
    summary = json.loads(scored.stdout)
    assert summary["customers"] == 2357
    from clientela.cli.common import open_store

    with open_store() as store, store.unit_of_work(write=False) as uow:
        owner = uow.identities.owner_of("external:cdnow", "1")
        assert owner is not None
        scores = uow.analytics.scores_of(owner)
        forecast = sum(
            row["clv_expected_purchases"]
            for row in (uow.analytics.scores_of(o) for o in _owners(uow))
            if row is not None
        )
    assert scores is not None and scores["clv_horizon"] == "39 weeks"
    # customer 1: x=2, t_x=30.43, T=38.86 -> 1.226 expected purchases in 39 weeks
    assert scores["clv_expected_purchases"] == pytest.approx(1.226, rel=0.02)
    assert 0 < scores["clv_probability_alive"] <= 1
    # The store's forecast is the model's on the published summary of the same cohort
    assert forecast == pytest.approx(_published_forecast(39), rel=0.01)


def _published_forecast(horizon: float) -> float:
    from clientela.domain.clv import expected_purchases, fit_bg_nbd

    path = importlib.resources.files("lifetimes.datasets").joinpath("cdnow_customers_summary.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    x, t_x, t = ([float(row[k]) for row in rows] for k in ("frequency", "recency", "T"))
    model = fit_bg_nbd(x, t_x, t)
    return float(expected_purchases(model, horizon, x, t_x, t).sum())


def _owners(uow: object) -> list[str]:
    from sqlalchemy import select

    from clientela.storage.tables import customer_scores

    rows = uow.analytics.connection.execute(select(customer_scores.c.customer_id))  # type: ignore[attr-defined]
    return [str(row[0]) for row in rows]
