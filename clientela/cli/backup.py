"""``clientela backup``: encrypted snapshots of the store, their verification, restores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clientela.cli.common import console, handle_errors, open_store, print_plain, settings
from clientela.cli.common import to_json as to_json_text
from clientela.domain.actor import Actor
from clientela.domain.errors import FieldError, ValidationFailed

backup_app = typer.Typer(help="Encrypted, checksummed backups; restore keeps erasures.")
Archive = Annotated[Path, typer.Argument(help="The backup file")]


@backup_app.command("create")
@handle_errors
def backup_create(path: Archive) -> None:
    """Snapshot the running store and encrypt it to PATH."""
    from clientela.backup.service import create_backup

    with open_store() as store:
        info = create_backup(store, path)
    print_plain(to_json_text(info.as_dict()))


@backup_app.command("verify")
@handle_errors
def backup_verify(path: Archive) -> None:
    """Decrypt and check every byte of PATH (exit 1 naming what is wrong)."""
    from clientela.backup.service import verify_backup
    from clientela.security.keyring import load_master_key

    info = verify_backup(path, load_master_key(settings().data_dir))
    console.print(f"Backup intact: {info.dialect}, {info.size} bytes, taken {info.created_at}.")


@backup_app.command("restore")
@handle_errors
def backup_restore(
    path: Archive,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the store is replaced")] = False,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="A key export (`clientela keys export`) for a new machine"),
    ] = None,
) -> None:
    """Replace the store with PATH (stop the server first); people erased since are erased
    again from the erasure journal."""
    from clientela.backup.service import restore_backup
    from clientela.security.keyring import load_master_key

    if not yes:
        raise ValidationFailed(
            "A restore replaces the store.", errors=[FieldError("--yes", "confirm with --yes")]
        )
    current = settings()
    outcome = restore_backup(
        path,
        settings=current,
        keyring=load_master_key(current.data_dir),
        actor=Actor.cli(),
        keys=keys,
    )
    print_plain(to_json_text(outcome))
