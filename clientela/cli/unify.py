"""Commands of unification: duplicate detection, the review queue, merge and unmerge, and the
export of identities."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import console, errors, handle_errors, open_store, print_plain, settings
from clientela.cli.common import to_json as to_json_text
from clientela.domain.actor import Actor
from clientela.domain.errors import BadRequest, FieldError

dedupe_app = typer.Typer(
    help="Find duplicate customers (Splink), merge the sure ones, review the rest.",
    no_args_is_help=True,
)
identities_app = typer.Typer(help="Identities of customers (e-mails, ids of other systems).")


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            "--since must be an ISO 8601 date or time, e.g. 2026-11-01T00:00:00Z.",
            errors=[FieldError("--since", "is not an ISO 8601 timestamp")],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dedupe_app.command("run")
@handle_errors
def dedupe_run(
    auto_merge: Annotated[
        bool, typer.Option("--auto-merge", help="Merge clusters above the auto-merge threshold.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="Only match profiles created or changed since (ISO 8601)."),
    ] = None,
    retrain: Annotated[bool, typer.Option(help="Train a new model version first.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """Score pairs of active customers; queue uncertain pairs for review."""
    from clientela.dedupe.service import run_dedupe

    with open_store() as store, console.status("deduplicating") as status:
        summary = run_dedupe(
            store,
            settings=settings(),
            actor=Actor.cli(),
            auto_merge=auto_merge,
            since=_timestamp(since),
            retrain=retrain,
            on_progress=lambda step: status.update(step),
        )
    if fmt == "json":
        print_plain(to_json_text(summary.as_dict()))
        return
    table = Table("", "", show_header=False)
    for key, value in summary.as_dict().items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


@dedupe_app.command("train")
@handle_errors
def dedupe_train() -> None:
    """Train a new version of the duplicate model on the active customers."""
    from clientela.dedupe.service import train_model

    with open_store() as store, console.status("training"):
        version = train_model(store, settings=settings(), actor=Actor.cli())
    console.print(f"model version {version} trained")


@dedupe_app.command("review")
@handle_errors
def dedupe_review(
    status: Annotated[str, typer.Option(help="pending, merged or rejected")] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """List candidate pairs with the match weight of each comparison."""
    from clientela.dedupe.review import list_candidates

    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows, _ = list_candidates(uow, status=status, limit=limit)
    if fmt == "json":
        print_plain(to_json_text(rows))
        return
    table = Table("id", "left", "right", "probability", "why")
    for row in rows:
        why = ", ".join(
            f"{name}: {part['level']} ({part['weight']:+.1f})"
            for name, part in row["explanation"].items()
        )
        table.add_row(row["id"], row["left_id"], row["right_id"], f"{row['probability']:.4f}", why)
    console.print(table)


def _decide(candidate_id: str, *, accept: bool) -> None:
    from clientela.dedupe.review import decide

    with open_store() as store, store.unit_of_work() as uow:
        row = decide(uow, candidate_id, accept=accept, actor=Actor.cli(), settings=settings())
        uow.commit()
    merged = f" (merge {row['merge_id']})" if row["merge_id"] else ""
    console.print(f"pair {candidate_id}: {row['status']}{merged}")


@dedupe_app.command("accept")
@handle_errors
def dedupe_accept(candidate_id: str) -> None:
    """Merge the two customers of a pending pair."""
    _decide(candidate_id, accept=True)


@dedupe_app.command("reject")
@handle_errors
def dedupe_reject(candidate_id: str) -> None:
    """Mark a pending pair as two different people; it is never proposed again."""
    _decide(candidate_id, accept=False)


@identities_app.command("export")
@handle_errors
def identities_export(
    kind: Annotated[str, typer.Option(help="email, phone, document, user_id or external:NAME")],
    fmt: Annotated[str, typer.Option("--format", help="csv")] = "csv",
) -> None:
    """Print `customer_id,value` for every identity of a kind (merged ones under their
    survivor)."""
    from clientela.identity.export import export_identities

    if fmt != "csv":
        raise BadRequest("Only csv is supported.", errors=[FieldError("--format", "use csv")])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    with open_store() as store, store.unit_of_work() as uow:
        writer.writerow(["customer_id", "value"])
        for customer_id, value in export_identities(uow, kind, actor=Actor.cli()):
            writer.writerow([customer_id, value])
        uow.commit()
    sys.stdout.flush()


def add_merge_commands(customers_app: typer.Typer) -> None:
    """``customers merge`` and ``customers unmerge`` live with the other customer commands."""

    @customers_app.command("merge")
    @handle_errors
    def customers_merge(survivor_id: str, other_id: str) -> None:
        """Merge OTHER_ID into SURVIVOR_ID (survivorship rules choose each field)."""
        from clientela.identity.merging import merge_profiles

        with open_store() as store, store.unit_of_work() as uow:
            merge_id = merge_profiles(
                uow,
                survivor_id,
                other_id,
                reason="manual",
                actor=Actor.cli(),
                rules=settings().survivorship,
                settings=settings(),
            )
            uow.commit()
        console.print(f"merged; undo with `clientela customers unmerge {merge_id}`")

    @customers_app.command("unmerge")
    @handle_errors
    def customers_unmerge(merge_id: str) -> None:
        """Undo a merge: both customers as they were; later changes stay where they were made."""
        from clientela.identity.merging import unmerge

        with open_store() as store, store.unit_of_work() as uow:
            result = unmerge(uow, merge_id, actor=Actor.cli(), settings=settings())
            uow.commit()
        console.print(f"restored {result.restored_id} beside {result.survivor_id}")
        if result.kept_on_survivor:
            errors.print(
                "changed after the merge, kept on the survivor: "
                + ", ".join(result.kept_on_survivor)
            )
