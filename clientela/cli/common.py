"""What every command shares: the store, the actor, output helpers and error handling."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import Any, BinaryIO, ParamSpec, TypeVar

import typer
from rich.console import Console

from clientela.domain.errors import ClientelaError
from clientela.security.keyring import load_master_key
from clientela.settings import Settings, get_settings
from clientela.setup.service import check_master_key
from clientela.storage.store import Store

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    return get_settings()


@contextmanager
def open_store(*, require_current: bool = True, create_key: bool = False) -> Iterator[Store]:
    current = settings()
    if current.database_url is None and not (current.data_dir / "clientela.db").exists():
        raise ClientelaError(
            f"There is no store in {current.data_dir}: run `clientela init` (or set "
            "CLIENTELA_DATA_DIR to where it is)."
        )
    store = Store(
        current.store_url,
        echo=current.echo_sql,
        keyring=load_master_key(current.data_dir, create=create_key),
        blind_index_bytes=current.blind_index_bytes,
    )
    try:
        if require_current and not store.is_current():
            raise ClientelaError(
                "The store is missing or out of date: run `clientela init` (new store) or "
                "`clientela db upgrade`."
            )
        if require_current:
            check_master_key(store)
        yield store
    finally:
        store.dispose()


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn Clientela errors into a message on stderr and exit code 1: no traceback."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ClientelaError as exc:
            errors.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
            for error in exc.errors:
                errors.print(f"  {error.field}: {error.message}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_default)


def to_json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


@contextmanager
def atomic_output(path: Path | None) -> Iterator[BinaryIO]:
    """A binary stream to ``path`` that appears there only when the block succeeds (a
    temporary file beside it is renamed); stdout when there is no path."""
    if path is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def print_plain(text: str) -> None:
    """Exactly ``text`` on stdout (for scripts): no colour, no wrapping."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def parse_moment(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time from an option; naive ones are taken as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        from clientela.domain.errors import FieldError, ValidationFailed

        raise ValidationFailed(
            "Not a date and time.", errors=[FieldError(option, "ISO 8601, e.g. 2026-01-31T09:00Z")]
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
