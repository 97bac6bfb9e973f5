"""``clientela destinations``: webhooks that receive audience exports."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import console, handle_errors, open_store, print_plain, to_json
from clientela.domain.actor import Actor

destinations_app = typer.Typer(help="Destinations: webhooks that receive audiences.")


@destinations_app.command("add")
@handle_errors
def add(
    key: Annotated[str, typer.Argument(help="A short key, e.g. crm")],
    url: Annotated[str, typer.Option(help="https:// URL (http:// only to this machine)")],
    batch_size: Annotated[int, typer.Option(help="Records per request")] = 500,
) -> None:
    """Add a webhook; prints its signing secret once (the receiver checks signatures)."""
    from clientela.exports.destinations import create_destination

    with open_store() as store, store.unit_of_work() as uow:
        created = create_destination(
            uow, {"key": key, "url": url, "batch_size": batch_size}, actor=Actor.cli()
        )
        uow.commit()
    print_plain(to_json(created))


@destinations_app.command("list")
@handle_errors
def list_all() -> None:
    """Destinations with their last delivery."""
    from clientela.exports.destinations import list_destinations

    with open_store() as store, store.unit_of_work(write=False) as uow:
        found = list_destinations(uow)
    table = Table("key", "url", "batch", "last delivery", "status")
    for row in found:
        last = row["last_delivery"] or {}
        table.add_row(
            row["key"],
            row["url"],
            str(row["batch_size"]),
            "" if row["last_delivery_at"] is None else row["last_delivery_at"].isoformat(),
            str(last.get("status", "")),
        )
    console.print(table)


@destinations_app.command("remove")
@handle_errors
def remove(key: Annotated[str, typer.Argument()]) -> None:
    from clientela.exports.destinations import delete_destination

    with open_store() as store, store.unit_of_work() as uow:
        delete_destination(uow, key, actor=Actor.cli())
        uow.commit()
    console.print("Removed.")
