"""Fixtures: a fresh store per test on SQLite and (when available) PostgreSQL, and API clients."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

from clientela.api.app import create_app
from clientela.security.apikeys import create_api_key
from clientela.settings import Settings, get_settings
from clientela.sources.service import ensure_built_in_sources
from clientela.storage.store import Store
from tests import factories, postgres

REQUIRE_POSTGRES = os.environ.get("CLIENTELA_REQUIRE_POSTGRES") == "1"

# In CI every run explores the same examples: a failure there is reproducible, never flaky.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def _migrate(url: str) -> None:
    store = Store(url, keyring=factories.TEST_KEYRING)
    try:
        store.upgrade()
        with store.unit_of_work() as uow:
            ensure_built_in_sources(uow)
            uow.commit()
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite+pysqlite:///{path}")
    return path.read_bytes()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[postgres.Server | None]:
    try:
        with postgres.server() as srv:
            postgres.create_template(srv, _migrate)
            yield srv
    except postgres.Unavailable as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (CLIENTELA_REQUIRE_POSTGRES=1): {exc}")
        _skip_reason["postgres"] = str(exc)
        yield None


_skip_reason: dict[str, str] = {}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, _sqlite_template: bytes
) -> Iterator[Store]:
    """A migrated, empty store (built-in sources only) on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "clientela.db"
        path.write_bytes(_sqlite_template)
        the_store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
        yield the_store
        the_store.dispose()
        return
    yield from _postgres_store(request)


@pytest.fixture
def postgres_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated, empty PostgreSQL store, for what only PostgreSQL does (pg_dump, ...)."""
    yield from _postgres_store(request)


def _postgres_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    srv = request.getfixturevalue("pg_server")
    if srv is None:
        pytest.skip("PostgreSQL not available here: " + _skip_reason.get("postgres", "see log"))
    with postgres.database(srv) as url:
        the_store = Store(url, keyring=factories.TEST_KEYRING)
        yield the_store
        the_store.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path, _sqlite_template: bytes) -> Iterator[Store]:
    path = tmp_path / "clientela.db"
    path.write_bytes(_sqlite_template)
    the_store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
    yield the_store
    the_store.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return factories.settings(data_dir=tmp_path)


def api_key_for(store: Store, role: str = "admin") -> str:
    with store.unit_of_work() as uow:
        key = create_api_key(uow, name=f"test {role}", role=role, actor=factories.actor())
        uow.commit()
    return key.token


@pytest.fixture
def api(store: Store, settings: Settings) -> Iterator[object]:
    """A TestClient on a fresh store, authenticated with an admin key."""
    from fastapi.testclient import TestClient

    app = create_app(settings, store)
    token = api_key_for(store)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command line on a fresh data directory (settings re-read from the environment)."""
    monkeypatch.setenv("CLIENTELA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLIENTELA_DEDUPE_U_MAX_PAIRS", "200000")
    monkeypatch.delenv("CLIENTELA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLIENTELA_MASTER_KEY", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
