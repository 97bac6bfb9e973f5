"""``clientela``: the command-line interface. Commands parse, call one service, format."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clientela import __version__
from clientela.cli.analytics import analytics_app
from clientela.cli.audit import audit_app
from clientela.cli.backup import backup_app
from clientela.cli.common import (
    console,
    errors,
    handle_errors,
    open_store,
    print_plain,
    settings,
    to_json,
    to_json_line,
)
from clientela.cli.destinations import destinations_app
from clientela.cli.keys import keys_app
from clientela.cli.privacy import export_app, privacy_app, retention_app
from clientela.cli.quality import quality_app
from clientela.cli.segments import segments_app
from clientela.cli.unify import add_merge_commands, dedupe_app, identities_app
from clientela.cli.users import users_app
from clientela.customers import service as customers_service
from clientela.domain.actor import Actor
from clientela.domain.errors import (
    BadRequest,
    ClientelaError,
    FieldError,
    InvalidValue,
    ValidationFailed,
)
from clientela.domain.identity import parse_identity
from clientela.ingest.imports import InvalidFields
from clientela.security.apikeys import ROLES, create_api_key, list_api_keys, revoke_api_key
from clientela.settings import settings_reference
from clientela.setup.service import check_master_key
from clientela.sources.service import list_sources
from clientela.storage.store import Store

app = typer.Typer(
    name="clientela",
    help="Clientela: keep everything you know about your customers clean, lawful, safe and useful.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Schema of the store.", no_args_is_help=True)
customers_app = typer.Typer(help="Find, show and export customers.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for integrations and scripts.", no_args_is_help=True)
sources_app = typer.Typer(
    help="Sources of data, with write keys for the tracking API.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(customers_app, name="customers")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(sources_app, name="sources")
import_app = typer.Typer(
    help="Import exports of other systems (CSV, TSV, JSON Lines, XLSX, Parquet).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
app.add_typer(dedupe_app, name="dedupe")
app.add_typer(identities_app, name="identities")
add_merge_commands(customers_app)
app.add_typer(quality_app, name="quality")
app.add_typer(privacy_app, name="privacy")
app.add_typer(destinations_app, name="destinations")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(analytics_app, name="analytics")
app.add_typer(segments_app, name="segments")
app.add_typer(retention_app, name="retention")
app.add_typer(export_app, name="export")


def _version(value: bool) -> None:
    if value:
        print_plain(f"clientela {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Every command reads its settings from CLIENTELA_* variables (see `clientela settings`)."""


# --- store ------------------------------------------------------------------------------------


@app.command()
@handle_errors
def init(
    demo: Annotated[bool, typer.Option(help="Fill a new store with demo data.")] = False,
    customers: Annotated[int, typer.Option(min=1, help="Demo customers.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 42,
) -> None:
    """Create the store (or bring it up to date); on first run create the admin and a key."""
    from clientela.security.keyring import load_master_key
    from clientela.setup.service import initialise_store

    current = settings()
    if current.database_url is None:
        current.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(
        current.store_url,
        keyring=load_master_key(current.data_dir, create=True),
        blind_index_bytes=current.blind_index_bytes,
    )
    try:
        result = initialise_store(store)
        if not result.created:
            console.print(f"Store ready at {_where(store)} (already initialised).")
            return
        console.print(f"Created the store at {_where(store)}.")
        if demo:
            _load_demo(store, customers, seed)
        console.print()
        console.print("[bold]Sign-in for the administrator (shown once, change it soon):[/]")
        console.print(f"  e-mail:   {result.admin_email}")
        console.print(f"  password: {result.admin_password}", highlight=False)
        console.print("[bold]API key with the admin role (shown once):[/]")
        console.print(f"  {result.api_key}", highlight=False)
    finally:
        store.dispose()


def _where(store: Store) -> str:
    return store.url.split("///", 1)[-1] if store.dialect == "sqlite" else store.dialect


def _load_demo(store: Store, customers: int, seed: int) -> None:
    from clientela.demo.service import load_demo

    with console.status(f"Generating and storing {customers} demo customers…"):
        summary = load_demo(store, settings(), customers=customers, seed=seed)
    console.print(
        f"Demo data: {summary.customers} customers ({summary.duplicates} near-duplicates to "
        f"find), {summary.events} events, {summary.orders} orders, {summary.consents} consent "
        f"records."
    )
    if summary.rejected:
        console.print(
            f"{summary.rejected} generated people were refused by validation or "
            "identity checks, as real input would be."
        )
    from clientela.analytics.runs import ANALYSES
    from clientela.demo.service import analyse_demo

    with console.status("Computing RFM, lifetime value, churn risk, recommendations, cohorts…"):
        outcome = analyse_demo(store, settings())
    done = [ANALYSES[name] for name, problem in outcome.items() if problem is None]
    console.print("Analyses computed: " + (", ".join(done) or "none") + ".")
    for name, problem in outcome.items():
        if problem is not None:
            console.print(f"Not computed, {ANALYSES[name]}: {problem}")


@app.command()
@handle_errors
def demo(
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 3000,
    seed: Annotated[int, typer.Option(help="Same seed, same data (on the same day).")] = 42,
) -> None:
    """Add realistic demo customers (pt_BR, en_US, ru_RU) with events, orders and consents."""
    with open_store() as store:
        _load_demo(store, customers, seed)


@app.command()
@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the web interface and the API."""
    import uvicorn

    current = settings()
    the_host = host or current.host
    the_port = port or current.port
    with open_store():
        pass  # refuse to start on a missing or outdated store, with a clear message
    console.print(
        f"Clientela {__version__} on http://{the_host}:{the_port}  "
        f"(API reference: http://{the_host}:{the_port}/api/docs)"
    )
    uvicorn.run(
        "clientela.api.app:create_app",
        factory=True,
        host=the_host,
        port=the_port,
        workers=workers,
        log_level=current.log_level.lower(),
        server_header=False,
    )


@db_app.command("compact")
@handle_errors
def db_compact() -> None:
    """Reclaim deleted rows' space so erased values leave the files (VACUUM)."""
    from clientela.privacy.erasure import COMPACTED_TABLES

    with open_store() as store:
        store.compact(COMPACTED_TABLES)
    console.print("Store compacted.")


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    with open_store(require_current=False, create_key=True) as store:
        store.upgrade()
        check_master_key(store)
        console.print(f"Store schema at revision {store.revision()}.")


@db_app.command("status")
@handle_errors
def db_status() -> None:
    """Show the schema revision of the store."""
    with open_store(require_current=False) as store:
        state = "current" if store.is_current() else "needs `clientela db upgrade`"
        console.print(f"Revision {store.revision() or '(empty store)'}: {state}.")


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="Print the reference as Markdown.")] = False,
) -> None:
    """Show every setting, its variable and its current value."""
    if markdown:
        sys.stdout.write(settings_reference())
        return
    current = settings()
    table = Table("variable", "value")
    for name in type(current).model_fields:
        table.add_row(f"CLIENTELA_{name.upper()}", str(getattr(current, name)))
    console.print(table)


# --- customers --------------------------------------------------------------------------------


Format = Annotated[str, typer.Option("--format", "-f", help="table or json")]


def _show_profile(profile: dict[str, object], fmt: str) -> None:
    if fmt == "json":
        print_plain(to_json(profile))
        return
    table = Table("field", "value", show_header=False)
    for key, value in profile.items():
        if value in (None, [], {}):
            continue
        if key == "identities" and isinstance(value, list):
            value = ", ".join(f"{item['kind']}:{item['value']}" for item in value)
        table.add_row(key, str(value))
    console.print(table)


@customers_app.command("get")
@handle_errors
def customers_get(customer_id: str, fmt: Format = "table") -> None:
    """Show one customer by id."""
    with open_store() as store, store.unit_of_work() as uow:
        profile = customers_service.get_customer(
            uow, customer_id, actor=Actor.cli(), settings=settings()
        )
        uow.commit()
    _show_profile(profile, fmt)


@customers_app.command("find")
@handle_errors
def customers_find(
    identity: Annotated[str, typer.Option(help="KIND:VALUE, e.g. email:ana@example.com")],
    fmt: Format = "table",
) -> None:
    """Show the customer who owns an identity (exit 1 when nobody does)."""
    try:
        key = parse_identity(identity, region=settings().default_region)
    except InvalidValue as exc:
        raise ValidationFailed(
            "The identity is not valid.", errors=[FieldError("--identity", exc.message)]
        ) from None
    with open_store() as store, store.unit_of_work() as uow:
        profile = customers_service.lookup_customer(
            uow, key.kind, key.value, actor=Actor.cli(), settings=settings()
        )
        uow.commit()
    _show_profile(profile, fmt)


@customers_app.command("search")
@handle_errors
def customers_search(
    query: str,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    fmt: Format = "table",
) -> None:
    """Search by name prefix, e-mail, phone in any format or CPF."""
    with open_store() as store, store.unit_of_work() as uow:
        results = customers_service.search_customers(
            uow, query, actor=Actor.cli(), settings=settings(), limit=limit
        )
        uow.commit()
    if fmt == "json":
        print_plain(to_json(results))
        return
    table = Table("id", "name", "e-mail", "phone", "city")
    for row in results:
        table.add_row(
            row["id"],
            row["full_name"] or "",
            row["email"] or "",
            row["phone"] or "",
            row["city"] or "",
        )
    console.print(table)
    console.print(f"{len(results)} found.")


@customers_app.command("export")
@handle_errors
def customers_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv")] = "jsonl",
    country: Annotated[str | None, typer.Option(help="Only this country (ISO code).")] = None,
) -> None:
    """Export active customers, page by page (every read is audited)."""
    if fmt not in ("jsonl", "csv"):
        raise ValidationFailed(
            "Unknown format.", errors=[FieldError("--format", "use jsonl or csv")]
        )
    stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    writer: csv.DictWriter[str] | None = None
    count = 0
    try:
        with open_store() as store:
            cursor = None
            while True:
                with store.unit_of_work() as uow:
                    page = customers_service.list_customers(
                        uow,
                        actor=Actor.cli(),
                        settings=settings(),
                        limit=1000,
                        cursor=cursor,
                        country=country.upper() if country else None,
                    )
                    uow.commit()
                for profile in page.data:
                    if fmt == "jsonl":
                        stream.write(to_json_line(profile) + "\n")
                    else:
                        if writer is None:
                            writer = csv.DictWriter(stream, fieldnames=list(profile))
                            writer.writeheader()
                        writer.writerow({k: _csv_value(v) for k, v in profile.items()})
                    count += 1
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
    finally:
        if output:
            stream.close()
    if output:
        console.print(f"Exported {count} customers to {output}.")


def _csv_value(value: object) -> object:
    if isinstance(value, list | dict):
        return to_json_line(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- API keys ---------------------------------------------------------------------------------


@apikeys_app.command("create")
@handle_errors
def apikeys_create(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "integration",
    print_key: Annotated[bool, typer.Option("--print", help="Print only the key.")] = False,
) -> None:
    """Create an API key (shown once; only its digest is stored)."""
    with open_store() as store, store.unit_of_work() as uow:
        created = create_api_key(uow, name=name, role=role, actor=Actor.cli())
        uow.commit()
    if print_key:
        print_plain(created.token)
        return
    console.print(f"API key {created.id} ({created.role}) — shown once:")
    console.print(created.token, highlight=False)


@apikeys_app.command("list")
@handle_errors
def apikeys_list() -> None:
    """List API keys (never the keys themselves)."""
    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows = list_api_keys(uow)
    table = Table("id", "name", "role", "prefix", "created", "last used", "revoked")
    for row in rows:
        table.add_row(
            row["id"],
            row["name"],
            row["role"],
            row["prefix"] + "…",
            f"{row['created_at']:%Y-%m-%d}",
            f"{row['last_used_at']:%Y-%m-%d %H:%M}" if row["last_used_at"] else "",
            f"{row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "",
        )
    console.print(table)


@apikeys_app.command("revoke")
@handle_errors
def apikeys_revoke(key_id: str) -> None:
    """Revoke an API key at once."""
    with open_store() as store, store.unit_of_work() as uow:
        revoke_api_key(uow, key_id, actor=Actor.cli())
        uow.commit()
    console.print(f"Revoked {key_id}.")


# --- sources ----------------------------------------------------------------------------------


@sources_app.command("create")
@handle_errors
def sources_create(
    name: str,
    trust_rank: Annotated[int, typer.Option(min=0, max=100, help="Higher wins conflicts.")] = 50,
    print_key: Annotated[
        bool, typer.Option("--print-key", help="Print only the write key (for scripts).")
    ] = False,
) -> None:
    """Create a tracking source and its write key (shown once; only its digest is stored)."""
    from clientela.sources.keys import create_tracking_source

    with open_store() as store, store.unit_of_work() as uow:
        created = create_tracking_source(uow, name, actor=Actor.cli(), trust_rank=trust_rank)
        uow.commit()
    if print_key:
        print_plain(created.write_key)
        return
    console.print(f"Source {created.name} ({created.id}); write key, shown once:")
    console.print(created.write_key, highlight=False)


@sources_app.command("list")
@handle_errors
def sources_list() -> None:
    """List sources (never their keys)."""
    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows = list_sources(uow)
    table = Table("name", "kind", "trust rank", "write key", "disabled")
    for row in rows:
        table.add_row(
            row["name"],
            row["kind"],
            str(row["trust_rank"]),
            "yes" if row["has_write_key"] else "",
            f"{row['disabled_at']:%Y-%m-%d}" if row["disabled_at"] else "",
        )
    console.print(table)


@sources_app.command("disable")
@handle_errors
def sources_disable(name: str) -> None:
    """Disable a tracking source: its write key stops working at once."""
    from clientela.sources.keys import revoke_source

    with open_store() as store, store.unit_of_work() as uow:
        revoke_source(uow, name, actor=Actor.cli())
        uow.commit()
    console.print(f"Disabled {name}.")


# --- import -----------------------------------------------------------------------------------


def _count_rows(path: Path) -> int | None:
    """Rows in a text file, for the progress bar's ETA (None when unknown)."""
    if path.is_file() and path.suffix.lower() in (
        ".csv",
        ".tsv",
        ".txt",
        ".jsonl",
        ".ndjson",
        ".json",
    ):
        with path.open("rb") as handle:
            return max(
                0,
                sum(1 for _ in handle)
                - (0 if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else 1),
            )
    return None


@contextmanager
def _progress(total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar with rows/s and time left, on stderr (stdout stays for results)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task("rows", total=total, rate="-")
        started = time.monotonic()

        def advance(rows: int) -> None:
            progress.advance(task, rows)
            done = progress.tasks[0].completed
            progress.update(task, rate=f"{done / max(time.monotonic() - started, 1e-6):,.0f}")

        yield advance


@import_app.command("customers")
@handle_errors
def import_customers_command(
    file: Path,
    source: Annotated[str, typer.Option(help="Name of the source the rows come from.")] = "import",
    mapping: Annotated[
        Path | None, typer.Option(help='JSON file: {"columns": {"Header": "field"}}')
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option(help="Column holding the other system's id (identity external:SOURCE)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and count; store nothing.")] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Where to write refused rows (default FILE.rejects.csv).")
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv, tsv, jsonl, xlsx or parquet")
    ] = None,
    invalid_fields: Annotated[
        str,
        typer.Option(
            help="reject: refuse a row with any invalid value; drop: import it without the "
            "invalid values (listed in FILE.partial.csv)."
        ),
    ] = "reject",
) -> None:
    """Import customers: every row validated and stitched like the API; refused rows go to a
    reject file with their row number and reason. Exit 0 when the file was processed."""
    from clientela.ingest.imports import import_customers
    from clientela.ingest.mapping import load_mapping_file

    overrides = load_mapping_file(mapping) if mapping else None
    total = _count_rows(file)
    with open_store() as store, _progress(total) as advance:
        summary = import_customers(
            store,
            file,
            settings=settings(),
            actor=Actor.cli(),
            source=source,
            mapping_overrides=overrides,
            id_column=id_column,
            dry_run=dry_run,
            reject_path=rejects,
            file_format=file_format,
            on_progress=advance,
            invalid_fields=_invalid_fields(invalid_fields),
        )
    table = Table("", "", show_header=False)
    table.add_row(
        "file",
        f"{summary.format} ({summary.encoding or '-'}, delimiter {summary.delimiter!r})"
        if summary.delimiter
        else summary.format,
    )
    table.add_row("columns", ", ".join(f"{h} → {t}" for h, t in summary.mapping.items()))
    if summary.unmapped:
        table.add_row("not imported", ", ".join(summary.unmapped))
    for label in ("rows", "created", "updated", "unchanged", "merged", "rejected"):
        table.add_row(label, str(getattr(summary, label)))
    if summary.reject_file:
        table.add_row("reject file", summary.reject_file)
    if summary.partial_file:
        table.add_row("without invalid values", f"{summary.partial} ({summary.partial_file})")
    if summary.dry_run:
        table.add_row("dry run", "nothing was stored")
    console.print(table)


def _invalid_fields(value: str) -> InvalidFields:
    if value == "reject":
        return "reject"
    if value == "drop":
        return "drop"
    raise BadRequest(
        "--invalid-fields is reject or drop.", errors=[FieldError("--invalid-fields", value)]
    )


def _import_activity(
    kind: str,
    file: Path,
    source: str,
    id_column: str | None,
    rejects: Path | None,
    file_format: str | None,
) -> None:
    from clientela.ingest.activity_import import import_activity

    with open_store() as store, _progress(_count_rows(file)) as advance:
        summary = import_activity(
            store,
            file,
            kind=kind,
            settings=settings(),
            actor=Actor.cli(),
            source=source,
            id_column=id_column,
            reject_path=rejects,
            file_format=file_format,
            on_progress=advance,
        )
    table = Table("", "", show_header=False)
    for label in ("rows", "stored", "duplicates", "customers_created", "rejected"):
        table.add_row(label.replace("_", " "), str(getattr(summary, label)))
    if summary.reject_file:
        table.add_row("reject file", summary.reject_file)
    console.print(table)


SourceOption = Annotated[str, typer.Option(help="Name of the source the rows come from.")]
IdColumn = Annotated[
    str | None,
    typer.Option(
        help="Column with the other system's customer id (identity "
        "external:SOURCE); default: an e-mail column."
    ),
]
RejectsOption = Annotated[Path | None, typer.Option(help="Where to write refused rows.")]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="csv, tsv, jsonl, xlsx or parquet")
]


@import_app.command("transactions")
@handle_errors
def import_transactions_command(
    file: Path,
    source: SourceOption = "import",
    id_column: IdColumn = None,
    rejects: RejectsOption = None,
    file_format: FormatOption = None,
) -> None:
    """Import orders: columns for the person, date, amount (and optionally quantity, order id,
    currency). People not yet known are created with their id."""
    _import_activity("transactions", file, source, id_column, rejects, file_format)


@import_app.command("events")
@handle_errors
def import_events_command(
    file: Path,
    source: SourceOption = "import",
    id_column: IdColumn = None,
    rejects: RejectsOption = None,
    file_format: FormatOption = None,
) -> None:
    """Import events: columns for the person, date and event name; other columns become the
    event's properties."""
    _import_activity("events", file, source, id_column, rejects, file_format)


def main() -> None:
    try:
        app()
    except ClientelaError as exc:  # pragma: no cover - commands handle their own
        console.print(f"error: {exc.detail}")
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()
