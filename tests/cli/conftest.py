"""The command line's tests share one runner: a fresh data directory, settings re-read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clientela.settings import get_settings


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CLIENTELA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLIENTELA_DEDUPE_U_MAX_PAIRS", "200000")
    monkeypatch.delenv("CLIENTELA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLIENTELA_MASTER_KEY", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
