"""Backups: encrypted (no value readable in the file), verified chunk by chunk, refused when
altered; a restore of an older backup erases again the people erased since (SQLite through the
CLI, PostgreSQL through the service)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clientela.backup.service import (
    BackupInvalid,
    _open,
    create_backup,
    export_keys,
    list_backups,
    restore_backup,
    verify_backup,
)
from clientela.cli.main import app
from clientela.domain.identity import IdentityKey
from clientela.privacy import requests
from clientela.privacy.journal import JOURNAL_NAME
from clientela.security.envelope import is_sealed
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


def _an_email(cli: CliRunner) -> str:
    export = cli.invoke(app, ["customers", "export", "--format", "jsonl"])
    return str(
        next(
            json.loads(line)["email"]
            for line in export.stdout.splitlines()
            if json.loads(line)["email"]
        )
    )


def test_backup_restore_keeps_the_erased_erased(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "30", "--seed", "4"]).exit_code == 0
    email = _an_email(cli)
    archive = tmp_path / "store.backup"
    made = cli.invoke(app, ["backup", "create", str(archive)])
    assert made.exit_code == 0, made.output
    assert email.encode() not in archive.read_bytes()  # encrypted
    assert archive.stat().st_mode & 0o077 == 0
    verified = cli.invoke(app, ["backup", "verify", str(archive)])
    assert verified.exit_code == 0 and "intact" in verified.output

    erased = cli.invoke(app, ["privacy", "erase", "--identity", f"email:{email}", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert cli.invoke(app, ["backup", "restore", str(archive)]).exit_code == 1  # needs --yes
    restored = cli.invoke(app, ["backup", "restore", str(archive), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["erased_again"] == 1
    found = cli.invoke(app, ["customers", "find", "--identity", f"email:{email}"])
    assert found.exit_code == 1
    raw = (tmp_path / "data" / "clientela.db").read_bytes()
    assert email.encode() not in raw
    assert cli.invoke(app, ["audit", "verify"]).exit_code == 0


def test_the_cli_exports_the_keys_and_restores_with_them(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["init", "--demo", "--customers", "20", "--seed", "5"]).exit_code == 0
    email = _an_email(cli)
    archive, keys = tmp_path / "store.backup", tmp_path / "elsewhere" / "store.keys"
    assert cli.invoke(app, ["backup", "create", str(archive)]).exit_code == 0
    exported = cli.invoke(app, ["keys", "export", str(keys)])
    assert exported.exit_code == 0, exported.output
    assert keys.stat().st_mode & 0o077 == 0 and email.encode() not in keys.read_bytes()
    (tmp_path / "data" / "clientela.db").unlink()  # the machine lost its store
    restored = cli.invoke(app, ["backup", "restore", str(archive), "--keys", str(keys), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["data_keys"] >= 20
    found = cli.invoke(
        app, ["customers", "find", "--identity", f"email:{email}", "--format", "json"]
    )
    assert found.exit_code == 0 and email in found.output


@pytest.mark.parametrize("where", ["header", "middle", "end", "cut"])
def test_an_altered_backup_is_refused(
    tmp_path: Path, sqlite_store: Store, settings: Settings, where: str
) -> None:
    factories.stored_customer(sqlite_store, settings)
    archive = create_backup(sqlite_store, tmp_path / "b.backup")
    data = bytearray(archive.path.read_bytes())
    if where == "cut":
        data = data[:-10]
    else:
        position = {"header": 30, "middle": len(data) // 2, "end": len(data) - 3}[where]
        data[position] ^= 0x01
    archive.path.write_bytes(bytes(data))
    with pytest.raises(BackupInvalid):
        verify_backup(archive.path, factories.TEST_KEYRING)


@pytest.mark.postgres
def test_postgresql_backup_and_restore(tmp_path: Path, postgres_store: Store) -> None:
    store = postgres_store
    url = store.engine.url.render_as_string(hide_password=False)
    settings = factories.settings(data_dir=tmp_path, database_url=url)
    kept = factories.stored_customer(store, settings)
    gone = factories.stored_customer(store, settings)
    archive = create_backup(store, tmp_path / "pg.backup")
    assert gone["email"].encode() not in archive.path.read_bytes()
    with store.unit_of_work() as uow:
        request = requests.create_request(
            uow,
            kind="erasure",
            identity=IdentityKey("email", gone["email"]),
            actor=factories.actor(),
            settings=settings,
        )
        uow.commit()
    requests.run_request(
        store, request["id"], actor=factories.actor(), settings=settings, attest_identity=True
    )
    store.dispose()
    outcome = restore_backup(
        archive.path, settings=settings, keyring=factories.TEST_KEYRING, actor=factories.actor()
    )
    assert outcome["erased_again"] == 1
    again = Store(url, keyring=factories.TEST_KEYRING)
    try:
        with again.unit_of_work(write=False) as uow:
            assert uow.identities.owner_of("email", gone["email"]) is None
            assert uow.identities.owner_of("email", kept["email"]) == kept["id"]
            row = uow.customers.get(kept["id"])  # its data key came back from the live store
            assert row is not None and row["email"] == kept["email"]
            assert not uow.suppressions.is_empty()
    finally:
        again.dispose()


def test_crypto_shredding_survives_a_restore(
    tmp_path: Path, sqlite_store: Store, settings: Settings
) -> None:
    """Back up, erase a person, restore the old backup: the person's sealed fields in it open
    with no key (none in the backup, theirs destroyed), the others' do, and the person is
    erased again."""
    kept = factories.stored_customer(sqlite_store, settings)
    gone = factories.stored_customer(sqlite_store, settings)
    archive = create_backup(sqlite_store, tmp_path / "b.backup").path
    _erase_by_request(sqlite_store, settings, gone["email"])

    _, chunks = _open(archive, factories.TEST_KEYRING)
    snapshot = tmp_path / "snapshot.db"
    snapshot.write_bytes(b"".join(chunks))
    with sqlite3.connect(snapshot) as old:
        assert old.execute("SELECT count(*) FROM customer_keys").fetchone() == (0,)
        tokens = dict(
            old.execute(
                "SELECT id, email FROM customers WHERE id IN (?, ?)", (kept["id"], gone["id"])
            ).fetchall()
        )
    assert all(is_sealed(token) for token in tokens.values())
    with sqlite_store.unit_of_work(write=False) as uow:
        assert uow.sealer is not None
        assert uow.sealer.open_field("email", tokens[gone["id"]]) is None
        assert uow.sealer.open_field("email", tokens[kept["id"]]) == kept["email"]
    sqlite_store.dispose()

    outcome = restore_backup(
        archive, settings=settings, keyring=factories.TEST_KEYRING, actor=factories.actor()
    )
    assert outcome["erased_again"] == 1 and outcome["data_keys"] >= 1
    again = Store(sqlite_store.url, keyring=factories.TEST_KEYRING)
    try:
        with again.unit_of_work(write=False) as uow:
            row = uow.customers.get(kept["id"])
            assert row is not None and row["email"] == kept["email"]
            erased = uow.customers.get(gone["id"])
            assert erased is not None and erased["status"] == "erased"
            assert erased["email"] is None
    finally:
        again.dispose()


def _lose_the_machine(store: Store, settings: Settings) -> None:
    """The store and the erasure journal are gone; the master key was kept elsewhere."""
    store.dispose()
    for name in ("clientela.db", "clientela.db-wal", "clientela.db-shm", JOURNAL_NAME):
        (settings.data_dir / name).unlink(missing_ok=True)


def _state_after_restore(store: Store, *ids: str) -> list[dict | None]:
    again = Store(store.url, keyring=factories.TEST_KEYRING)
    try:
        with again.unit_of_work(write=False) as uow:
            return [uow.customers.get(customer_id) for customer_id in ids]
    finally:
        again.dispose()


def test_a_key_export_restores_sealed_fields_and_erasures_onto_a_new_machine(
    tmp_path: Path, sqlite_store: Store, settings: Settings
) -> None:
    kept = factories.stored_customer(sqlite_store, settings)
    gone = factories.stored_customer(sqlite_store, settings)
    archive = create_backup(sqlite_store, tmp_path / "backups" / "b.backup").path
    _erase_by_request(sqlite_store, settings, gone["email"])
    keys = export_keys(sqlite_store, tmp_path / "keys" / "k.keys", data_dir=settings.data_dir)
    assert verify_backup(keys.path, factories.TEST_KEYRING).size > 0
    with pytest.raises(BackupInvalid, match="is a key export, not a backup"):
        restore_backup(
            keys.path, settings=settings, keyring=factories.TEST_KEYRING, actor=factories.actor()
        )
    with pytest.raises(BackupInvalid, match="is not a key export"):
        restore_backup(
            archive,
            settings=settings,
            keyring=factories.TEST_KEYRING,
            actor=factories.actor(),
            keys=archive,
        )

    # without the export, a new machine gets everything but the sealed fields — and, with no
    # journal, nothing to erase again
    _lose_the_machine(sqlite_store, settings)
    restore_backup(
        archive, settings=settings, keyring=factories.TEST_KEYRING, actor=factories.actor()
    )
    blind, resurrected = _state_after_restore(sqlite_store, kept["id"], gone["id"])
    assert blind is not None and blind["email"] is None
    assert resurrected is not None and resurrected["status"] == "active"

    # with it, the sealed fields open and the erasure before the export holds again
    _lose_the_machine(sqlite_store, settings)
    outcome = restore_backup(
        archive,
        settings=settings,
        keyring=factories.TEST_KEYRING,
        actor=factories.actor(),
        keys=keys.path,
    )
    assert outcome["erased_again"] == 1 and outcome["data_keys"] >= 1
    restored, erased = _state_after_restore(sqlite_store, kept["id"], gone["id"])
    assert restored is not None and restored["email"] == kept["email"]
    assert erased is not None and erased["status"] == "erased" and erased["email"] is None


def _erase_by_request(store: Store, settings: Settings, email: str) -> None:
    with store.unit_of_work() as uow:
        request = requests.create_request(
            uow,
            kind="erasure",
            identity=IdentityKey("email", email),
            actor=factories.actor(),
            settings=settings,
        )
        uow.commit()
    requests.run_request(
        store, request["id"], actor=factories.actor(), settings=settings, attest_identity=True
    )


def test_listing_reads_headers_only_and_skips_other_files(
    sqlite_store: Store, tmp_path: Path
) -> None:
    directory = tmp_path / "backups"
    first = create_backup(sqlite_store, directory / "a.backup")
    second = create_backup(sqlite_store, directory / "b.backup")
    (directory / "notes.backup").write_text("not a backup")
    (directory / "short.backup").write_bytes(b"CLIENTELA-BACKUP\n\x00")
    (directory / "c.txt").write_text("ignored")
    listed = list_backups(directory)
    assert [info.path.name for info in listed] == ["b.backup", "a.backup"]
    assert listed[1].sha256 == first.sha256 and listed[0].created_at == second.created_at
    assert list_backups(tmp_path / "missing") == []
