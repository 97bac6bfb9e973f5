"""``clientela keys rotate``: the store opens with the new key file only, data intact."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clientela.cli.main import app


def test_rotation_through_the_cli(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "5", "--seed", "2"]).exit_code == 0
    key_file = tmp_path / "data" / "master.key"
    old_key = key_file.read_text()
    before = cli.invoke(app, ["customers", "export", "--format", "jsonl"])
    rotated = cli.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "data keys re-wrapped" in rotated.output
    assert key_file.read_text() != old_key
    assert key_file.stat().st_mode & 0o077 == 0
    after = cli.invoke(app, ["customers", "export", "--format", "jsonl"])
    assert after.exit_code == 0, after.output
    emails = [json.loads(line)["email"] for line in after.stdout.splitlines()]
    assert emails == [json.loads(line)["email"] for line in before.stdout.splitlines()]
    assert any(emails)
    assert cli.invoke(app, ["audit", "verify"]).exit_code == 0

    key_file.write_text(old_key)  # the old key no longer opens the store
    refused = cli.invoke(app, ["customers", "export", "--format", "jsonl"])
    assert refused.exit_code == 1
    assert "master key" in refused.output
