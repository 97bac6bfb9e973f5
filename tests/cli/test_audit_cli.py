"""`clientela audit verify` exits 0 on an intact chain and non-zero naming the first bad entry
when a row of the database file was edited; `audit log` exports the trail."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from clientela.cli.main import app


def test_verify_names_the_edited_entry(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "20", "--seed", "2"]).exit_code == 0
    first = cli.invoke(app, ["audit", "verify"])
    assert first.exit_code == 0, first.output
    assert "intact" in first.output
    exported = cli.invoke(app, ["audit", "log", "--format", "csv", "--limit", "5"])
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 5 and rows[0]["seq"] == "1" and len(rows[0]["hash"]) == 64

    database = sqlite3.connect(tmp_path / "data" / "clientela.db")
    database.execute("DROP TRIGGER audit_entries_no_update")
    database.execute("UPDATE audit_entries SET customer_id = NULL WHERE seq = 3")
    database.commit()
    database.close()
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 2
    assert "entry 3" in broken.output
