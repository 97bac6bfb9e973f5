"""``clientela segments``: count a definition (preview in the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clientela.cli.common import handle_errors, open_store, print_plain
from clientela.domain.errors import FieldError, ValidationFailed

segments_app = typer.Typer(help="Segments: rule trees over profiles, scores and activity.")


@segments_app.command("count")
@handle_errors
def segments_count(
    definition: Annotated[Path | None, typer.Option(help="A JSON file with the rule tree")] = None,
    text: Annotated[
        str | None, typer.Option(help="The text form, e.g. 'country = \"BR\" and order_count > 1'")
    ] = None,
) -> None:
    """Print how many active customers the definition selects."""
    from clientela.domain.segment_text import from_text
    from clientela.segments.service import count_segment

    if (definition is None) == (text is None):
        raise ValidationFailed(
            "Give the definition one way.",
            errors=[FieldError("--definition/--text", "exactly one of them")],
        )
    if text is not None:
        tree = from_text(text)
    else:
        assert definition is not None
        tree = _read_tree(definition)
    with open_store() as store, store.unit_of_work(write=False) as uow:
        print_plain(str(count_segment(uow, tree)))


@segments_app.command("text")
@handle_errors
def segments_text(
    definition: Annotated[Path, typer.Option(help="A JSON file with the rule tree")],
) -> None:
    """Print the readable text form of a JSON definition."""
    from clientela.domain.segment_text import to_text

    print_plain(to_text(_read_tree(definition)))


def _read_tree(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(
            "The definition cannot be read.", errors=[FieldError("--definition", str(exc))]
        ) from None
