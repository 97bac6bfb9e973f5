"""``clientela segments``: count a definition (preview in the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clientela.cli.common import handle_errors, open_store, print_plain
from clientela.domain.errors import FieldError, ValidationFailed

segments_app = typer.Typer(help="Segments: rule trees over profiles, scores and activity.")


@segments_app.command("count")
@handle_errors
def segments_count(
    definition: Annotated[Path, typer.Option(help="A JSON file with the rule tree")],
) -> None:
    """Print how many active customers the definition selects."""
    from clientela.segments.service import count_segment

    try:
        tree = json.loads(definition.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(
            "The definition cannot be read.", errors=[FieldError("--definition", str(exc))]
        ) from None
    with open_store() as store, store.unit_of_work(write=False) as uow:
        print_plain(str(count_segment(uow, tree)))
