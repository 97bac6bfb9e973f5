"""The unification contract on the command line: import with an id column, dedupe with
auto-merge, export identities under their survivor; merge and unmerge by hand."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path

from typer.testing import CliRunner

from clientela.cli.main import app
from clientela.demo.generator import generate

FIELDS = ("given_name", "family_name", "birth_date", "email", "phone", "city", "postal_code")


def export_file(path: Path, n: int = 500) -> set[frozenset[str]]:
    """A CRM export with near-duplicates; returns the true groups of record ids."""
    data = generate(n, seed=11)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["rec_id", "first name", "last name", "date of birth", "e-mail", "phone", "city", "zip"]
        )
        for i, person in enumerate(data.customers):
            given, _, family = (person.get("full_name") or "").partition(" ")
            writer.writerow([f"r{i}", given, family, *(person.get(f) or "" for f in FIELDS[2:])])
    return {frozenset((f"r{a}", f"r{b}")) for a, b in data.duplicates}


def test_import_dedupe_and_export_identities(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init"]).exit_code == 0
    truth = export_file(tmp_path / "crm.csv")
    imported = cli.invoke(
        app,
        [
            "import",
            "customers",
            str(tmp_path / "crm.csv"),
            "--source",
            "crm",
            "--id-column",
            "rec_id",
        ],
    )
    assert imported.exit_code == 0, imported.output
    run = cli.invoke(app, ["dedupe", "run", "--auto-merge", "--format", "json"])
    assert run.exit_code == 0, run.output
    exported = cli.invoke(
        app, ["identities", "export", "--kind", "external:crm", "--format", "csv"]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows and set(rows[0]) == {"customer_id", "value"}
    groups: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        groups[row["customer_id"]].add(row["value"])
    merged = [frozenset(g) for g in groups.values() if len(g) > 1]
    assert merged, "the sure duplicates were merged"
    assert all(group in truth for group in merged)  # and only true ones


def test_merge_and_unmerge_by_hand(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "20"]).exit_code == 0
    export = cli.invoke(app, ["customers", "export", "--format", "csv"])
    ids = [row["id"] for row in csv.DictReader(io.StringIO(export.stdout))][:2]
    merged = cli.invoke(app, ["customers", "merge", *ids])
    assert merged.exit_code == 0, merged.output
    merge_id = re.search(r"unmerge ([0-9a-f-]{36})", merged.output)
    assert merge_id
    gone = cli.invoke(app, ["customers", "get", ids[1]])
    assert gone.exit_code == 1 and "merged" in gone.output
    undone = cli.invoke(app, ["customers", "unmerge", merge_id.group(1)])
    assert undone.exit_code == 0, undone.output
    assert cli.invoke(app, ["customers", "get", ids[1]]).exit_code == 0
    again = cli.invoke(app, ["customers", "unmerge", merge_id.group(1)])
    assert again.exit_code == 1 and "already undone" in again.output


def test_quality_report_and_refresh(cli: CliRunner) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "30"]).exit_code == 0
    report = cli.invoke(app, ["quality", "report", "--format", "json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.stdout)
    assert data["profiles"] >= 25 and 0 <= data["mean_score"] <= 100
    page = cli.invoke(app, ["quality", "report", "--format", "html"])
    assert page.exit_code == 0 and page.stdout.lstrip().startswith("<!doctype html>")
    refreshed = cli.invoke(app, ["quality", "refresh"])
    assert refreshed.exit_code == 0 and f"{data['profiles']} profiles" in refreshed.output
    wrong = cli.invoke(app, ["quality", "report", "--format", "pdf"])
    assert wrong.exit_code == 1 and "table, json or html" in wrong.output
