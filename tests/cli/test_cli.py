"""The command line: the interface contract of the foundation, through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clientela.cli.main import app


def test_init_prints_admin_login_once_and_key_works(cli: CliRunner, tmp_path: Path) -> None:
    first = cli.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "password:" in first.output and "clk_" in first.output
    assert (tmp_path / "data" / "clientela.db").exists()
    again = cli.invoke(app, ["init"])
    assert again.exit_code == 0 and "password:" not in again.output


def test_apikeys_create_print_outputs_only_the_key(cli: CliRunner) -> None:
    cli.invoke(app, ["init"])
    result = cli.invoke(app, ["apikeys", "create", "--name", "ci", "--role", "admin", "--print"])
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("clk_") and len(result.stdout.strip().splitlines()) == 1


def test_demo_then_find_by_identity_as_json(cli: CliRunner) -> None:
    made = cli.invoke(app, ["init", "--demo", "--customers", "60", "--seed", "3"])
    assert made.exit_code == 0
    # the analytics page has figures at once: each analysis ran, or says why it could not
    assert "Analyses computed: RFM groups" in made.stdout
    export = cli.invoke(app, ["customers", "export", "--format", "jsonl"])
    assert export.exit_code == 0
    people = [json.loads(line) for line in export.stdout.splitlines()]
    assert len(people) >= 55
    person = next(p for p in people if p["email"] and p["order_count"])
    found = cli.invoke(
        app,
        ["customers", "find", "--identity", f"email:{person['email'].upper()}", "--format", "json"],
    )
    assert found.exit_code == 0, found.output
    profile = json.loads(found.stdout)
    assert profile["id"] == person["id"]
    assert {"kind": "email", "value": person["email"]}.items() <= profile["identities"][
        0
    ].items() or any(
        i["kind"] == "email" and i["value"] == person["email"] for i in profile["identities"]
    )
    assert profile["counts"]["transactions"] >= 1 and profile["counts"]["events"] >= 1


def test_not_found_and_bad_input_exit_non_zero_without_traceback(cli: CliRunner) -> None:
    cli.invoke(app, ["init"])
    missing = cli.invoke(app, ["customers", "find", "--identity", "email:nobody@example.com"])
    assert missing.exit_code == 1
    assert "No customer has this email" in missing.output
    bad = cli.invoke(app, ["customers", "find", "--identity", "phone:12"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert cli.invoke(app, ["customers", "get", "0000"]).exit_code == 1


def test_commands_refuse_a_missing_store(cli: CliRunner) -> None:
    result = cli.invoke(app, ["customers", "search", "ana"])
    assert result.exit_code == 1
    assert "clientela init" in result.output


def test_search_and_export_csv(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["init", "--demo", "--customers", "40"])
    out = tmp_path / "customers.csv"
    result = cli.invoke(app, ["customers", "export", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,status") and len(lines) >= 39
    assert cli.invoke(app, ["customers", "search", "a"]).exit_code == 0


def test_sources_create_print_key_outputs_only_the_key(cli: CliRunner) -> None:
    cli.invoke(app, ["init"])
    result = cli.invoke(app, ["sources", "create", "website", "--print-key"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("wk_") and len(result.stdout.strip().splitlines()) == 1
    again = cli.invoke(app, ["sources", "create", "website", "--print-key"])
    assert again.exit_code == 1 and "exists" in again.output
    assert cli.invoke(app, ["sources", "disable", "website"]).exit_code == 0
    assert "website" in cli.invoke(app, ["sources", "list"]).stdout


def test_import_exit_codes(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["init"])
    good = tmp_path / "people.csv"
    good.write_text("nome,email\nAna,ana@example.com\nBeto,not-an-email\n", encoding="utf-8")
    result = cli.invoke(app, ["import", "customers", str(good), "--source", "crm"])
    assert result.exit_code == 0, result.output
    assert "rejected" in result.stdout and (tmp_path / "people.rejects.csv").exists()
    missing = cli.invoke(app, ["import", "customers", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
