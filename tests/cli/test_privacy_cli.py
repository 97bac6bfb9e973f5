"""The privacy interface contract: request create prints the id, run prints the bundle path,
erase is one command; the register check fails on an uncovered field."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from clientela.attributes.service import define_attribute
from clientela.cli.common import open_store
from clientela.cli.main import app
from clientela.domain.actor import Actor
from clientela.domain.attributes import AttributeDefinition, AttributeType, Category, Sensitivity


def _an_email(cli: CliRunner) -> str:
    export = cli.invoke(app, ["customers", "export", "--format", "jsonl"])
    people = [json.loads(line) for line in export.stdout.splitlines()]
    return str(next(p["email"] for p in people if p["email"] and p["order_count"]))


def test_access_then_erasure_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "40", "--seed", "5"]).exit_code == 0
    email = _an_email(cli)
    created = cli.invoke(
        app, ["privacy", "request", "create", "--kind", "access", "--identity", f"email:{email}"]
    )
    assert created.exit_code == 0, created.output
    request_id = created.stdout.strip()
    assert len(request_id) == 36
    ran = cli.invoke(app, ["privacy", "request", "run", request_id, "--yes"])
    assert ran.exit_code == 0, ran.output
    bundle = Path(ran.stdout.strip())
    with zipfile.ZipFile(bundle) as archive:
        document = json.loads(archive.read("bundle.json"))
    assert document["profile"]["email"] == email

    listed = cli.invoke(app, ["privacy", "request", "list", "--all", "--format", "json"])
    assert [r["status"] for r in json.loads(listed.stdout)] == ["completed"]

    refused = cli.invoke(app, ["privacy", "erase", "--identity", f"email:{email}"])
    assert refused.exit_code == 1 and "--yes" in refused.output
    erased = cli.invoke(app, ["privacy", "erase", "--identity", f"email:{email}", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "erased 1 profile" in erased.output
    assert not bundle.exists()
    found = cli.invoke(app, ["customers", "find", "--identity", f"email:{email}"])
    assert found.exit_code == 1
    raw = (tmp_path / "data" / "clientela.db").read_bytes()
    assert email.encode() not in raw


def test_privacy_check_fails_on_a_field_no_purpose_covers(cli: CliRunner) -> None:
    assert cli.invoke(app, ["init"]).exit_code == 0
    empty = cli.invoke(app, ["privacy", "check"])
    assert empty.exit_code == 1  # nothing registered yet: every field is uncovered
    assert "email: no registered purpose uses it" in empty.output
    for category, basis in (
        ("personal,demographic,behavioural,psychographic", "legitimate_interest"),
        ("transactional", "contract"),
    ):
        added = cli.invoke(
            app,
            [
                "privacy",
                "purposes",
                "add",
                "--key",
                f"p_{basis}",
                "--name",
                basis,
                "--basis",
                basis,
                "--categories",
                category,
                "--retention-days",
                "730",
            ],
        )
        assert added.exit_code == 0, added.output
    ok = cli.invoke(app, ["privacy", "check"])
    assert ok.exit_code == 0, ok.output
    with open_store() as store, store.unit_of_work() as uow:
        define_attribute(
            uow,
            AttributeDefinition(
                key="health_notes",
                type=AttributeType.STRING,
                category=Category.PERSONAL,
                sensitivity=Sensitivity.SPECIAL,
            ),
            actor=Actor.cli(),
        )
        uow.commit()
    special = cli.invoke(app, ["privacy", "check"])
    assert special.exit_code == 1
    assert "health_notes: special-category data" in special.output
    register = cli.invoke(app, ["privacy", "register", "--format", "csv"])
    assert register.exit_code == 0
    assert register.stdout.splitlines()[0].startswith("key,name,lawful_basis")
