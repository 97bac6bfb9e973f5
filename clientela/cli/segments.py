"""``clientela segments``: count definitions; save, materialise and follow saved segments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clientela.cli.common import (
    console,
    handle_errors,
    open_store,
    parse_moment,
    print_plain,
    to_json,
)
from clientela.domain.actor import Actor
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
    from clientela.segments.service import count_segment

    tree = _given_tree(definition, text)
    with open_store() as store, store.unit_of_work(write=False) as uow:
        print_plain(str(count_segment(uow, tree)))


@segments_app.command("save")
@handle_errors
def segments_save(
    key: Annotated[str, typer.Argument(help="A short key, e.g. champions_br")],
    name: Annotated[str | None, typer.Option(help="A readable name (new segments)")] = None,
    definition: Annotated[Path | None, typer.Option(help="A JSON file with the rule tree")] = None,
    text: Annotated[str | None, typer.Option(help="Or the text form")] = None,
    description: Annotated[str | None, typer.Option(help="What it is for")] = None,
    refresh_minutes: Annotated[
        int | None, typer.Option(help="Materialise every N minutes (the server does)")
    ] = None,
) -> None:
    """Save a new segment, or change the one with this key."""
    from clientela.segments.service import create_segment, update_segment

    data: dict[str, Any] = {}
    if definition is not None or text is not None:
        data["definition"] = _given_tree(definition, text)
    for field, value in (
        ("name", name),
        ("description", description),
        ("refresh_minutes", refresh_minutes),
    ):
        if value is not None:
            data[field] = value
    with open_store() as store, store.unit_of_work() as uow:
        if uow.segments.get_by_key(key) is None:
            saved = create_segment(uow, {"key": key, **data}, actor=Actor.cli())
        else:
            saved = update_segment(uow, key, data, actor=Actor.cli())
        uow.commit()
    print_plain(to_json(saved))


@segments_app.command("list")
@handle_errors
def segments_list() -> None:
    """Saved segments with their size at the last materialisation."""
    from clientela.domain.segment_text import to_text
    from clientela.segments.service import list_segments

    with open_store() as store, store.unit_of_work(write=False) as uow:
        saved = list_segments(uow)
    table = Table("key", "name", "members", "materialised", "refresh (min)", "definition")
    for segment in saved:
        table.add_row(
            segment["key"],
            segment["name"],
            "" if segment["member_count"] is None else str(segment["member_count"]),
            "" if segment["materialised_at"] is None else segment["materialised_at"].isoformat(),
            "" if segment["refresh_minutes"] is None else str(segment["refresh_minutes"]),
            to_text(segment["definition"]),
        )
    console.print(table)


@segments_app.command("materialise")
@handle_errors
def segments_materialise(key: Annotated[str, typer.Argument()]) -> None:
    """Recompute who is in the segment now (entries and exits are recorded)."""
    from clientela.segments.service import materialise_segment

    with open_store() as store, store.unit_of_work() as uow:
        result = materialise_segment(uow, key, actor=Actor.cli())
        uow.commit()
    print_plain(to_json(result))


@segments_app.command("refresh")
@handle_errors
def segments_refresh() -> None:
    """Materialise every saved segment whose refresh interval has passed (for cron)."""
    from clientela.segments.service import refresh_due_segments

    with open_store() as store:
        done = refresh_due_segments(store, actor=Actor.cli())
    print_plain(to_json(done))


@segments_app.command("changes")
@handle_errors
def segments_changes(
    key: Annotated[str, typer.Argument()],
    since: Annotated[str, typer.Option(help="From (ISO 8601), e.g. 2026-11-16")],
    until: Annotated[str | None, typer.Option(help="To, exclusive (default now)")] = None,
) -> None:
    """Who entered and who left the segment in a window, as JSON lines."""
    from clientela.cli.common import to_json_line
    from clientela.segments.service import segment_changes

    start = parse_moment(since, "--since")
    assert start is not None
    end = parse_moment(until, "--until")
    cursor = None
    with open_store() as store, store.unit_of_work(write=False) as uow:
        while True:
            page = segment_changes(
                uow, key, actor=Actor.cli(), since=start, until=end, cursor=cursor
            )
            for move in page["changes"]:
                print_plain(to_json_line(move))
            cursor = page["next_cursor"]
            if cursor is None:
                break
        uow.commit()


@segments_app.command("delete")
@handle_errors
def segments_delete(key: Annotated[str, typer.Argument()]) -> None:
    """Delete a saved segment and its membership history."""
    from clientela.segments.service import delete_segment

    with open_store() as store, store.unit_of_work() as uow:
        delete_segment(uow, key, actor=Actor.cli())
        uow.commit()
    console.print("Deleted.")


@segments_app.command("text")
@handle_errors
def segments_text(
    definition: Annotated[Path, typer.Option(help="A JSON file with the rule tree")],
) -> None:
    """Print the readable text form of a JSON definition."""
    from clientela.domain.segment_text import to_text

    print_plain(to_text(_read_tree(definition)))


def _given_tree(definition: Path | None, text: str | None) -> Any:
    from clientela.domain.segment_text import from_text

    if (definition is None) == (text is None):
        raise ValidationFailed(
            "Give the definition one way.",
            errors=[FieldError("--definition/--text", "exactly one of them")],
        )
    if text is not None:
        return from_text(text)
    assert definition is not None
    return _read_tree(definition)


def _read_tree(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(
            "The definition cannot be read.", errors=[FieldError("--definition", str(exc))]
        ) from None
