"""``clientela audit``: verify the sealed chain, sign a checkpoint, read the trail."""

from __future__ import annotations

import csv
import sys
from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import (
    console,
    errors,
    handle_errors,
    open_store,
    parse_moment,
    print_plain,
)
from clientela.cli.common import to_json as to_json_text
from clientela.domain.actor import Actor
from clientela.domain.audit_chain import CHAINED_FIELDS

audit_app = typer.Typer(help="The audit trail: verify, checkpoint, search and export.")


@audit_app.command("verify")
@handle_errors
def audit_verify() -> None:
    """Exit 0 when the chain is intact; otherwise exit 2 naming the first bad entry."""
    from clientela.audit.service import checkpoint, verify_chain

    with open_store() as store, store.unit_of_work() as uow:
        result = verify_chain(uow)
        if result.ok:
            checkpoint(uow)  # what was just verified cannot be cut off unnoticed later
            uow.commit()
    if not result.ok:
        errors.print(f"[bold red]audit chain broken:[/] {result.problem}", highlight=False)
        raise typer.Exit(2)
    extra = f" ({result.unsealed} older entries predate the chain)" if result.unsealed else ""
    console.print(
        f"Audit chain intact: {result.entries} entries, {result.checkpoints} checkpoints{extra}."
    )


@audit_app.command("log")
@handle_errors
def audit_log(
    customer: Annotated[str | None, typer.Option(help="Customer id")] = None,
    actor: Annotated[str | None, typer.Option(help="Actor label, e.g. api_key:ID")] = None,
    start: Annotated[str | None, typer.Option("--from", help="From (ISO 8601)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Until (ISO 8601)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 1000,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Entries by customer, actor and time window, oldest first (never values, only fields)."""
    from clientela.audit.service import search

    with open_store() as store, store.unit_of_work() as uow:
        rows = search(
            uow,
            Actor.cli(),
            customer_id=customer,
            by=actor,
            start=parse_moment(start, "--from"),
            end=parse_moment(end, "--to"),
            limit=limit,
        )
        uow.commit()
    if fmt == "json":
        print_plain(to_json_text(rows))
    elif fmt == "csv":
        columns = [*CHAINED_FIELDS, "hash"]
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "occurred_at": row["occurred_at"].isoformat(),
                    "fields": ";".join(row["fields"]),
                }
            )
    else:
        table = Table("seq", "when", "actor", "action", "customer", "fields", "purpose")
        for row in rows:
            table.add_row(
                str(row["seq"]),
                row["occurred_at"].isoformat(timespec="seconds"),
                row["actor"],
                row["action"],
                row["customer_id"] or "",
                ", ".join(row["fields"]),
                row["purpose"] or "",
            )
        console.print(table)
