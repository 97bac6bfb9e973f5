"""Docs that cannot drift: the settings reference is generated, and checked here."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientela.settings import Settings, settings_reference

ROOT = Path(__file__).parent.parent


def test_settings_reference_is_current() -> None:
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_reference(), (
        "docs/settings.md is out of date: run `make docs`"
    )


def test_access_bundle_schema_is_current() -> None:
    import json

    from clientela.privacy.bundle import bundle_schema

    published = ROOT / "docs" / "privacy" / "access-bundle.schema.json"
    assert json.loads(published.read_text(encoding="utf-8")) == bundle_schema(), (
        "docs/privacy/access-bundle.schema.json is out of date: run `make docs`"
    )


def test_every_setting_is_described() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description, f"setting {name} has no description"


def test_production_refuses_sql_echo() -> None:
    with pytest.raises(ValueError, match="echo_sql"):
        Settings(environment="production", echo_sql=True)


def test_readme_has_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
