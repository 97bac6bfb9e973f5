"""``clientela keys``: the master key's rotation, and the export of the data keys for a machine
that loses its store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from clientela.cli.common import console, handle_errors, open_store, print_plain, settings
from clientela.cli.common import to_json as to_json_text
from clientela.domain.actor import Actor
from clientela.domain.errors import ValidationFailed

keys_app = typer.Typer(help="The master key: rotation (data keys re-wrapped, no data rewritten).")


@keys_app.command("rotate")
@handle_errors
def keys_rotate() -> None:
    """Make a new master key, re-wrap every customer's data key and the root key under it, and
    replace the key file. Keep the old key file with the backups taken under it."""
    from clientela.security.keyring import MASTER_KEY_ENV
    from clientela.security.rotation import rotate_master_key

    if os.environ.get(MASTER_KEY_ENV):
        raise ValidationFailed(
            f"The master key comes from {MASTER_KEY_ENV}: rotate with the key file instead "
            "(unset the variable; the key file is then replaced), and set the variable anew "
            "from the new file afterwards."
        )
    current = settings()
    with open_store() as store:
        done = rotate_master_key(store, current.data_dir, actor=Actor.cli())
    console.print(
        f"Master key rotated: {done.data_keys} data keys re-wrapped; new key in {done.key_file}."
    )


@keys_app.command("export")
@handle_errors
def keys_export(
    path: Annotated[Path, typer.Argument(help="The file to write (replaced atomically)")],
) -> None:
    """Write the customers' data keys (wrapped, as stored) and the erasure journal, encrypted,
    to PATH: with a backup, it restores sealed fields onto a machine that lost its store
    (`clientela backup restore BACKUP --keys PATH`). Keep only the newest, apart from the
    backups, and make it often: an erased person's key lives on in older exports."""
    from clientela.backup.service import export_keys

    with open_store() as store:
        info = export_keys(store, path, data_dir=settings().data_dir)
    print_plain(to_json_text(info.as_dict()))
