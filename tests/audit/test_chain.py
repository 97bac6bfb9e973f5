"""The sealed audit chain: editing, deleting, reordering or cutting off entries is detected and
the first bad entry named; the application itself cannot change an entry (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clientela.audit.service import checkpoint, verify_chain
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


def _entries(store: Store, settings: Settings, people: int = 4) -> None:
    for _ in range(people):
        factories.stored_customer(store, settings)


def _tamper(store: Store, *statements: str) -> None:
    """What an intruder with database access does: triggers off, rows changed."""
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        for statement in statements:
            connection.execute(text(statement))
        connection.commit()


def _verify(store: Store) -> tuple[bool, int | None, str | None]:
    with store.unit_of_work(write=False) as uow:
        result = verify_chain(uow)
    return result.ok, result.first_bad, result.problem


def test_an_intact_chain_verifies(store: Store, settings: Settings) -> None:
    _entries(store, settings)
    assert _verify(store) == (True, None, None)
    with store.unit_of_work() as uow:
        assert checkpoint(uow) == 4
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        result = verify_chain(uow)
    assert (result.ok, result.entries, result.checkpoints) == (True, 4, 1)


def test_the_application_cannot_change_an_entry(store: Store, settings: Settings) -> None:
    _entries(store, settings, 1)
    for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
        with store.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))


@pytest.mark.parametrize(
    ("statements", "first_bad", "words"),
    [
        (["UPDATE audit_entries SET fields = '[\"email\"]' WHERE seq = 2"], 2, "altered"),
        (["UPDATE audit_entries SET actor = 'user:nobody' WHERE seq = 3"], 3, "altered"),
        (["DELETE FROM audit_entries WHERE seq = 2"], 2, "missing"),
        (["DELETE FROM audit_entries WHERE seq = 1"], 2, "before 2 are missing"),
        (
            # swap entries 2 and 3 (their sequence numbers)
            [
                "UPDATE audit_entries SET seq = 100 WHERE seq = 2",
                "UPDATE audit_entries SET seq = 2 WHERE seq = 3",
                "UPDATE audit_entries SET seq = 3 WHERE seq = 100",
            ],
            2,
            "",
        ),
    ],
)
def test_tampering_is_found_and_named(
    store: Store, settings: Settings, statements: list[str], first_bad: int, words: str
) -> None:
    _entries(store, settings)
    _tamper(store, *statements)
    ok, bad, problem = _verify(store)
    assert not ok
    assert bad == first_bad
    assert words in (problem or "")


def test_cutting_off_the_end_is_found_by_the_checkpoint(store: Store, settings: Settings) -> None:
    _entries(store, settings)
    with store.unit_of_work() as uow:
        checkpoint(uow)
        uow.commit()
    _tamper(store, "DELETE FROM audit_entries WHERE seq >= 3")
    ok, bad, problem = _verify(store)
    assert (ok, bad) == (False, 4)
    assert "cut off" in (problem or "")
