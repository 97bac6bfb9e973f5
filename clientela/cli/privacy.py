"""``clientela privacy`` and ``clientela retention``: the DPO's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import (
    atomic_output,
    console,
    errors,
    handle_errors,
    open_store,
    parse_moment,
    print_plain,
    settings,
)
from clientela.cli.common import to_json as to_json_text
from clientela.domain.actor import Actor
from clientela.domain.errors import FieldError, InvalidValue, ValidationFailed
from clientela.domain.identity import IdentityKey, parse_identity

privacy_app = typer.Typer(help="Purposes register, consent, data-subject requests, erasure.")
request_app = typer.Typer(help="Data-subject requests: create, verify, run, extend, deny.")
consent_app = typer.Typer(help="The consent ledger: grant, deny, withdraw, show.")
purposes_app = typer.Typer(help="The purposes register (records of processing).")
holds_app = typer.Typer(help="Legal holds: stop retention and erasure for a person.")
retention_app = typer.Typer(help="Retention policies and their application.")
export_app = typer.Typer(help="Exports for a purpose (only eligible people, only its fields).")
privacy_app.add_typer(request_app, name="request")
privacy_app.add_typer(consent_app, name="consent")
privacy_app.add_typer(purposes_app, name="purposes")
privacy_app.add_typer(holds_app, name="hold")

Identity = Annotated[str, typer.Option("--identity", help="KIND:VALUE, e.g. email:ana@example.com")]


def _identity(text: str) -> IdentityKey:
    try:
        return parse_identity(text, region=settings().default_region)
    except InvalidValue as exc:
        raise ValidationFailed(
            "The identity is not valid.", errors=[FieldError("--identity", exc.message)]
        ) from None


# --- register -----------------------------------------------------------------------------------


@privacy_app.command("check")
@handle_errors
def privacy_check() -> None:
    """Fail (exit 1) when a field has no category, purpose or retention period."""
    from clientela.privacy.register import check_register

    with open_store() as store, store.unit_of_work(write=False) as uow:
        problems = check_register(uow)
    if not problems:
        console.print("The register covers every field: category, purpose and retention.")
        return
    for problem in problems:
        errors.print(f"{problem.field}: {problem.message}", highlight=False)
    errors.print(f"[bold red]{len(problems)} problems[/] in the purposes register.")
    raise typer.Exit(1)


@privacy_app.command("register")
@handle_errors
def privacy_register(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or csv")] = "json",
) -> None:
    """The records of processing with the data map, as JSON or CSV."""
    from clientela.privacy.register import export_register

    if fmt not in ("json", "csv"):
        raise ValidationFailed("Unknown format.", errors=[FieldError("--format", "json or csv")])
    with open_store() as store, store.unit_of_work(write=False) as uow:
        print_plain(export_register(uow, fmt))


@purposes_app.command("list")
@handle_errors
def purposes_list() -> None:
    from clientela.privacy.register import list_purposes

    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows = list_purposes(uow)
    table = Table("key", "name", "lawful basis", "categories", "recipients", "retention (days)")
    for row in rows:
        table.add_row(
            row["key"],
            row["name"],
            row["lawful_basis"],
            ", ".join(row["data_categories"]),
            ", ".join(row["recipients"]),
            str(row["retention_days"] or ""),
        )
    console.print(table)


@purposes_app.command("add")
@handle_errors
def purposes_add(
    key: Annotated[str, typer.Option(help="Key, e.g. marketing_email")],
    name: Annotated[str, typer.Option(help="Name people read")],
    basis: Annotated[str, typer.Option(help="Lawful basis, e.g. consent")],
    categories: Annotated[str, typer.Option(help="Data categories, comma-separated")],
    retention_days: Annotated[int | None, typer.Option(help="Retention period")] = None,
    recipients: Annotated[str, typer.Option(help="Recipients, comma-separated")] = "",
) -> None:
    from clientela.privacy.register import create_purpose

    data = {
        "key": key,
        "name": name,
        "lawful_basis": basis,
        "data_categories": [c.strip() for c in categories.split(",") if c.strip()],
        "recipients": [r.strip() for r in recipients.split(",") if r.strip()],
        "retention_days": retention_days,
    }
    with open_store() as store, store.unit_of_work() as uow:
        create_purpose(uow, data, actor=Actor.cli())
        uow.commit()
    console.print(f"Purpose {key} registered.")


# --- consent ------------------------------------------------------------------------------------


def _consent_command(action: str) -> None:
    @consent_app.command(action)
    @handle_errors
    def command(
        customer_id: Annotated[str, typer.Argument(help="Customer id")],
        purpose: Annotated[str, typer.Argument(help="Purpose key")],
        mechanism: Annotated[str, typer.Option(help="opt_in, opt_out or notice_only")] = "opt_in",
        notice_version: Annotated[str | None, typer.Option(help="Version of the notice")] = None,
        form: Annotated[str | None, typer.Option(help="Where it was collected")] = None,
    ) -> None:
        from clientela.privacy.consent import record_consent

        evidence = {k: v for k, v in {"notice_version": notice_version, "form": form}.items() if v}
        with open_store() as store, store.unit_of_work() as uow:
            record_consent(
                uow,
                customer_id,
                purpose,
                action,
                actor=Actor.cli(),
                settings=settings(),
                mechanism=mechanism,
                evidence=evidence,
                source="cli",
            )
            uow.commit()
        console.print(f"Recorded: {action} for {purpose}.")

    command.__doc__ = f"Record a {action} of consent for a purpose."


for _action in ("grant", "deny", "withdraw"):
    _consent_command(_action)


@consent_app.command("show")
@handle_errors
def consent_show(customer_id: Annotated[str, typer.Argument(help="Customer id")]) -> None:
    """The current state per purpose, and the ledger."""
    from clientela.privacy.consent import consent_state

    with open_store() as store, store.unit_of_work() as uow:
        state = consent_state(uow, customer_id, actor=Actor.cli())
        uow.commit()
    print_plain(to_json_text(state))


@privacy_app.command("eligibility")
@handle_errors
def privacy_eligibility(
    customer_id: Annotated[str, typer.Argument(help="Customer id")],
    purpose: Annotated[str, typer.Option(help="Purpose key")],
) -> None:
    """May this person's data be used for the purpose now? Exit 0 yes, 3 no."""
    from clientela.privacy.consent import eligibility

    with open_store() as store, store.unit_of_work() as uow:
        decision = eligibility(uow, customer_id, purpose, settings=settings(), actor=Actor.cli())
        uow.commit()
    console.print(("yes: " if decision.allowed else "no: ") + decision.reason)
    if not decision.allowed:
        raise typer.Exit(3)


# --- requests -----------------------------------------------------------------------------------


@request_app.command("create")
@handle_errors
def request_create(
    kind: Annotated[str, typer.Option(help="access, portability, erasure, rectification, ...")],
    identity: Identity,
    jurisdiction: Annotated[str | None, typer.Option(help="LGPD, GDPR, CCPA or 152FZ")] = None,
    received_at: Annotated[str | None, typer.Option(help="When it arrived (ISO 8601)")] = None,
    purposes: Annotated[str | None, typer.Option(help="Purposes (objection, restriction)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE to correct (rectification)")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="deletion, anonymisation or blocking")] = None,
) -> None:
    """Register a request; prints its id."""
    from clientela.privacy.requests import create_request

    details: dict[str, object] = {}
    if purposes:
        details["purposes"] = [p.strip() for p in purposes.split(",") if p.strip()]
    if set_:
        changes = {}
        for item in set_:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValidationFailed("Bad --set.", errors=[FieldError("--set", "FIELD=VALUE")])
            changes[name.strip()] = value
        details["changes"] = changes
    if mode:
        details["mode"] = mode
    with open_store() as store, store.unit_of_work() as uow:
        request = create_request(
            uow,
            kind=kind,
            identity=_identity(identity),
            actor=Actor.cli(),
            settings=settings(),
            jurisdiction=jurisdiction,
            received_at=parse_moment(received_at, "--received-at"),
            details=details,
        )
        uow.commit()
    print_plain(request["id"])
    errors.print(
        f"{request['kind']} request under {request['jurisdiction']}: due {request['due_date']}",
        highlight=False,
    )


@request_app.command("list")
@handle_errors
def request_list(
    overdue: Annotated[bool, typer.Option(help="Only overdue requests")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Closed requests too")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """Open requests by due date, with days left."""
    from clientela.privacy.requests import list_requests

    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows = list_requests(uow, open_only=not all_, overdue_only=overdue)
    if fmt == "json":
        print_plain(to_json_text(rows))
        return
    table = Table("id", "kind", "law", "status", "received", "due", "days left")
    for row in rows:
        left = "" if row["days_left"] is None else str(row["days_left"])
        table.add_row(
            row["id"],
            row["kind"],
            row["jurisdiction"],
            row["status"],
            row["received_at"].date().isoformat(),
            row["due_date"].isoformat(),
            f"[red]{left}[/]" if row["overdue"] else left,
        )
    console.print(table)


@request_app.command("show")
@handle_errors
def request_show(request_id: Annotated[str, typer.Argument()]) -> None:
    from clientela.privacy.requests import get_request

    with open_store() as store, store.unit_of_work(write=False) as uow:
        print_plain(to_json_text(get_request(uow, request_id)))


@request_app.command("verify")
@handle_errors
def request_verify(
    request_id: Annotated[str, typer.Argument()],
    send_code: Annotated[bool, typer.Option(help="Send a one-time code to the contact")] = False,
    channel: Annotated[str, typer.Option(help="email or sms")] = "email",
    code: Annotated[str | None, typer.Option(help="The code the person gave back")] = None,
    attest: Annotated[bool, typer.Option(help="Attest the identity yourself (DPO)")] = False,
    note: Annotated[str, typer.Option(help="How the identity was checked")] = "",
) -> None:
    """Verify the requester: send a code, check it, or attest."""
    from clientela.privacy import requests

    if sum([send_code, code is not None, attest]) != 1:
        raise ValidationFailed(
            "Choose one way.", errors=[FieldError("--send-code/--code/--attest", "exactly one")]
        )
    with open_store() as store, store.unit_of_work() as uow:
        if send_code:
            requests.send_code(uow, request_id, actor=Actor.cli(), channel=channel)
            message = "Code queued in the outbox."
        elif code is not None:
            requests.confirm_code(uow, request_id, code, actor=Actor.cli())
            message = "Identity verified."
        else:
            requests.attest(uow, request_id, actor=Actor.cli(), note=note)
            message = "Identity attested."
        uow.commit()
    console.print(message)


@request_app.command("acknowledge")
@handle_errors
def request_acknowledge(request_id: Annotated[str, typer.Argument()]) -> None:
    """Record that receipt was confirmed to the person (CCPA: within 10 business days)."""
    from clientela.privacy.requests import acknowledge

    with open_store() as store, store.unit_of_work() as uow:
        acknowledge(uow, request_id, actor=Actor.cli())
        uow.commit()
    console.print("Receipt confirmed.")


@request_app.command("extend")
@handle_errors
def request_extend(
    request_id: Annotated[str, typer.Argument()],
    notice: Annotated[str, typer.Option(help="The notice sent to the person, with reasons")],
) -> None:
    from clientela.privacy.requests import extend

    with open_store() as store, store.unit_of_work() as uow:
        request = extend(uow, request_id, actor=Actor.cli(), notice=notice)
        uow.commit()
    console.print(f"Extended: now due {request['due_date']}.")


@request_app.command("deny")
@handle_errors
def request_deny(
    request_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="Why (sent to the person)")],
) -> None:
    from clientela.privacy.requests import deny

    with open_store() as store, store.unit_of_work() as uow:
        deny(uow, request_id, actor=Actor.cli(), reason=reason)
        uow.commit()
    console.print("Denied.")


@request_app.command("run")
@handle_errors
def request_run(
    request_id: Annotated[str, typer.Argument()],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm; attests the identity if not yet verified")
    ] = False,
) -> None:
    """Execute the request; an access or portability request prints the bundle's path."""
    from clientela.privacy.requests import run_request

    with open_store() as store:
        with store.unit_of_work(write=False) as uow:
            from clientela.privacy.requests import get_request

            kind = get_request(uow, request_id)["kind"]
        if kind == "erasure" and not yes:
            raise ValidationFailed(
                "Erasure cannot be undone.", errors=[FieldError("--yes", "confirm with --yes")]
            )
        outcome = run_request(
            store, request_id, actor=Actor.cli(), settings=settings(), attest_identity=yes
        )
    if outcome.bundle is not None:
        print_plain(str(outcome.bundle))
    else:
        print_plain(json.dumps(outcome.request["result"], ensure_ascii=False, default=str))


@privacy_app.command("erase")
@handle_errors
def privacy_erase(
    identity: Identity,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: erasure cannot be undone")] = False,
    jurisdiction: Annotated[str | None, typer.Option(help="LGPD, GDPR, CCPA or 152FZ")] = None,
    mode: Annotated[str, typer.Option(help="deletion, anonymisation or blocking")] = "deletion",
) -> None:
    """An attested erasure in one step: request, attest, run."""
    from clientela.privacy.requests import create_request, run_request

    if not yes:
        raise ValidationFailed(
            "Erasure cannot be undone.", errors=[FieldError("--yes", "confirm with --yes")]
        )
    with open_store() as store:
        with store.unit_of_work() as uow:
            request = create_request(
                uow,
                kind="erasure",
                identity=_identity(identity),
                actor=Actor.cli(),
                settings=settings(),
                jurisdiction=jurisdiction,
                details={"mode": mode},
            )
            uow.commit()
        outcome = run_request(
            store, request["id"], actor=Actor.cli(), settings=settings(), attest_identity=True
        )
    result = outcome.request["result"] or {}
    console.print(
        f"Request {request['id']}: erased {result.get('profiles', 0)} profile(s); "
        f"{result.get('suppressed_identifiers', 0)} identifiers on the suppression list."
    )


@privacy_app.command("bundle-schema")
def privacy_bundle_schema() -> None:
    """Print the JSON Schema of access bundles (published in docs/privacy/)."""
    from clientela.privacy.bundle import bundle_schema

    print_plain(json.dumps(bundle_schema(), indent=2, ensure_ascii=False))


@privacy_app.command("import-bundle")
@handle_errors
def privacy_import_bundle(
    path: Annotated[Path, typer.Argument(help="An access bundle (.zip)")],
) -> None:
    """Create the person of an access bundle in this store (portability)."""
    from clientela.privacy.bundle import import_bundle, read_bundle

    bundle = read_bundle(path)
    with open_store() as store, store.unit_of_work() as uow:
        customer_id = import_bundle(uow, bundle, actor=Actor.cli(), settings=settings())
        uow.commit()
    print_plain(customer_id)


# --- holds, breach ------------------------------------------------------------------------------


@holds_app.command("add")
@handle_errors
def hold_add(
    customer_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="The legal matter")],
) -> None:
    from clientela.privacy.holds import add_hold

    with open_store() as store, store.unit_of_work() as uow:
        hold_id = add_hold(uow, customer_id, reason=reason, actor=Actor.cli())
        uow.commit()
    print_plain(hold_id)


@holds_app.command("release")
@handle_errors
def hold_release(hold_id: Annotated[str, typer.Argument()]) -> None:
    from clientela.privacy.holds import release_hold

    with open_store() as store, store.unit_of_work() as uow:
        release_hold(uow, hold_id, actor=Actor.cli())
        uow.commit()
    console.print("Released.")


@privacy_app.command("breach")
@handle_errors
def privacy_breach(
    kind: Annotated[str, typer.Option(help="actor, api_key, user or store")],
    start: Annotated[str, typer.Option("--from", help="Start of the window (ISO 8601)")],
    end: Annotated[str, typer.Option("--to", help="End of the window (ISO 8601)")],
    aware_at: Annotated[str, typer.Option(help="When the breach became known (ISO 8601)")],
    identifier: Annotated[
        str | None, typer.Option("--id", help="Actor label or key/user id")
    ] = None,
    notify_csv: Annotated[
        Path | None, typer.Option(help="Write the people to notify to this CSV")
    ] = None,
) -> None:
    """Who and what a compromised actor, key or store exposed; notification deadlines."""
    from clientela.privacy.breach import breach_report, notification_list

    moments = [
        parse_moment(start, "--from"),
        parse_moment(end, "--to"),
        parse_moment(aware_at, "--aware-at"),
    ]
    window_start, window_end, aware = (m for m in moments if m is not None)
    with open_store() as store, store.unit_of_work() as uow:
        report = breach_report(
            uow,
            kind=kind,
            identifier=identifier,
            start=window_start,
            end=window_end,
            aware_at=aware,
            actor=Actor.cli(),
        )
        if notify_csv is not None:
            notify_csv.write_text(notification_list(uow, report["id"], actor=Actor.cli()))
            notify_csv.chmod(0o600)
        uow.commit()
    print_plain(to_json_text(report))


# --- retention and exports ----------------------------------------------------------------------


@retention_app.command("run")
@handle_errors
def retention_run(
    dry_run: Annotated[bool, typer.Option(help="Report what would go; change nothing")] = False,
) -> None:
    """Apply the retention policies (daily in the server; here on demand)."""
    from clientela.privacy.retention import run_retention

    with open_store() as store:
        summary = run_retention(store, actor=Actor.cli(), settings=settings(), dry_run=dry_run)
    print_plain(to_json_text(summary))


@retention_app.command("policies")
@handle_errors
def retention_policies() -> None:
    from clientela.privacy.retention import list_policies

    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows = list_policies(uow)
    table = Table("id", "category", "purpose", "days", "description")
    for row in rows:
        table.add_row(
            row["id"], row["category"], row["purpose"] or "", str(row["days"]), row["description"]
        )
    console.print(table)


@retention_app.command("add")
@handle_errors
def retention_add(
    category: Annotated[str, typer.Option(help="personal, behavioural, transactional, ...")],
    days: Annotated[int, typer.Option(help="Keep for this many days")],
    purpose: Annotated[str | None, typer.Option(help="The purpose it serves")] = None,
    description: Annotated[str, typer.Option(help="Why this period")] = "",
) -> None:
    from clientela.privacy.retention import add_policy

    with open_store() as store, store.unit_of_work() as uow:
        row = add_policy(
            uow,
            {"category": category, "days": days, "purpose": purpose, "description": description},
            actor=Actor.cli(),
        )
        uow.commit()
    print_plain(str(row["id"]))


@retention_app.command("remove")
@handle_errors
def retention_remove(policy_id: Annotated[str, typer.Argument()]) -> None:
    from clientela.privacy.retention import remove_policy

    with open_store() as store, store.unit_of_work() as uow:
        remove_policy(uow, policy_id, actor=Actor.cli())
        uow.commit()
    console.print("Removed.")


@export_app.command("audience")
@handle_errors
def export_audience_command(
    purpose: Annotated[str, typer.Option(help="The purpose the export serves")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, jsonl or parquet")] = "csv",
    fields: Annotated[str | None, typer.Option(help="Fields, comma-separated")] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only the members of this saved segment")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
    destination: Annotated[
        str | None, typer.Option(help="POST it to this webhook destination instead")
    ] = None,
) -> None:
    """Everyone eligible for the purpose (consent or basis, no objection); the rest counted.
    A file is written whole or not at all."""
    from clientela.exports.audience import export_audience
    from clientela.segments.service import segment_member_ids

    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    if destination is not None:
        from clientela.exports.destinations import deliver_audience, refused

        with open_store() as store, store.unit_of_work() as uow:
            ids = segment_member_ids(uow, segment) if segment is not None else None
            result = deliver_audience(
                uow,
                destination,
                purpose=purpose,
                actor=Actor.cli(),
                settings=settings(),
                customer_ids=ids,
                fields=chosen,
                segment=segment,
            )
            uow.commit()
        print_plain(to_json_text(result))
        failure = refused(result)
        if failure is not None:
            raise failure
        return
    if fmt == "parquet" and out is None:
        raise ValidationFailed(
            "Parquet is binary: write it to a file.",
            errors=[FieldError("--out", "required with --format parquet", "required")],
        )
    with open_store() as store, store.unit_of_work(write=False) as uow:
        ids = segment_member_ids(uow, segment) if segment is not None else None
        with atomic_output(out) as handle:
            summary = export_audience(
                uow,
                handle,
                purpose=purpose,
                actor=Actor.cli(),
                settings=settings(),
                customer_ids=ids,
                fields=chosen,
                fmt=fmt,
            )
        uow.commit()
    errors.print(to_json_text(summary), highlight=False)
