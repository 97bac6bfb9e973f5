"""The migrations build exactly the tables of tables.py, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from clientela.storage.store import Store
from clientela.storage.tables import metadata


def test_migrations_match_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_store_is_at_the_latest_revision(store: Store) -> None:
    assert store.is_current()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1


_KEY_COLLATIONS = """
SELECT table_name, column_name, collation_name FROM information_schema.columns
WHERE table_schema = current_schema() AND data_type = 'character varying'
  AND character_maximum_length = 36
ORDER BY table_name, column_name
"""


def _key_collations(store: Store) -> dict[tuple[str, str], str | None]:
    with store.engine.connect() as connection:
        rows = connection.execute(text(_KEY_COLLATIONS)).all()
    return {(table, column): collation for table, column, collation in rows}


def test_postgresql_compares_row_keys_byte_wise(postgres_store: Store) -> None:
    """Index look-ups by key (a segment's per-person reads of events and orders) compare with
    memcmp, not the locale's strcoll."""
    collations = _key_collations(postgres_store)
    expected = {
        (table.name, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if getattr(column.type, "length", None) == 36
    }
    assert set(collations) == expected
    assert set(collations.values()) == {"C"}


def test_byte_wise_keys_migration_goes_down_and_up(postgres_store: Store) -> None:
    from alembic import command

    from clientela.storage import migrate

    config = migrate._config()
    with postgres_store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0019")
    assert set(_key_collations(postgres_store).values()) == {None}  # the database's default
    migrate.upgrade(postgres_store.engine)
    assert set(_key_collations(postgres_store).values()) == {"C"}
    assert postgres_store.is_current()
