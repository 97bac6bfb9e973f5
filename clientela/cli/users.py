"""``clientela users``: accounts of the people who use Clientela."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import console, handle_errors, open_store, print_plain
from clientela.domain.actor import Actor
from clientela.domain.errors import FieldError, ValidationFailed

users_app = typer.Typer(help="User accounts: create, list, disable.")


@users_app.command("create")
@handle_errors
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in e-mail")],
    role: Annotated[str, typer.Option(help="admin, dpo, analyst, marketer, support, viewer")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    name: Annotated[str, typer.Option(help="Display name")] = "",
) -> None:
    """Create a user; admin and dpo users enrol MFA at their first sign-in."""
    from clientela.security.users import create_user

    if not password_stdin:
        raise ValidationFailed(
            "Give the password on standard input (never as an argument: it would be in the "
            "shell history).",
            errors=[FieldError("--password-stdin", "is required")],
        )
    password = sys.stdin.readline().rstrip("\r\n")
    with open_store() as store, store.unit_of_work() as uow:
        user = create_user(
            uow, email=email, role=role, password=password, actor=Actor.cli(), display_name=name
        )
        uow.commit()
    print_plain(str(user["id"]))


@users_app.command("list")
@handle_errors
def users_list() -> None:
    with open_store() as store, store.unit_of_work(write=False) as uow:
        rows = uow.users.list()
    table = Table("e-mail", "role", "MFA", "created", "disabled")
    for row in rows:
        table.add_row(
            row["email"],
            row["role"],
            "yes" if row["mfa_enabled_at"] else "no",
            row["created_at"].date().isoformat(),
            row["disabled_at"].date().isoformat() if row["disabled_at"] else "",
        )
    console.print(table)


@users_app.command("disable")
@handle_errors
def users_disable(email: Annotated[str, typer.Argument(help="The user's e-mail")]) -> None:
    """Disable the account and end all its sessions at once."""
    from clientela.security.users import disable_user

    with open_store() as store, store.unit_of_work() as uow:
        ended = disable_user(uow, email, actor=Actor.cli())
        uow.commit()
    console.print(f"Disabled; {ended} session(s) ended.")
