"""Bulk import of transactions (orders) and events from other systems' exports.

Rows name their person by an id of the other system (``--id-column``, identity
``external:<source>``) or by e-mail; people not yet known are created with that identity. Each
row gets a stable id (the file's ``order_id`` column, else file name and row number), so
importing the same file again stores nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from clientela.audit import service as audit
from clientela.customers.service import create_customers
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import BadRequest, FieldError, InvalidValue
from clientela.domain.identity import IdentityKey, normalise_identity
from clientela.domain.ids import new_id
from clientela.domain.money import to_minor_units
from clientela.ingest.mapping import header_key
from clientela.ingest.readers import open_table, write_rejects
from clientela.settings import Settings
from clientela.sources.service import ensure_source
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["ActivitySummary", "import_activity"]

_COLUMNS = {
    "occurred_at": (
        "occurred at",
        "occurred_at",
        "date",
        "data",
        "timestamp",
        "datetime",
        "data da compra",
        "дата",
        "time",
    ),
    "amount": ("amount", "total", "valor", "value", "price", "revenue", "сумма", "стоимость"),
    "quantity": ("quantity", "qty", "quantidade", "qtd", "количество"),
    "order_id": ("order id", "order_id", "pedido", "numero do pedido", "заказ", "номер заказа"),
    "currency": ("currency", "moeda", "валюта"),
    "email": ("email", "e-mail", "эл. почта"),
    "event": ("event", "evento", "name", "событие"),
}


@dataclass
class ActivitySummary:
    kind: str
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    customers_created: int = 0
    rejected: int = 0
    reject_file: str | None = None
    _rejects: list[tuple[int, dict[str, Any], str]] = field(default_factory=list, repr=False)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    if re.fullmatch(r"\d{8}", text):  # 19970101
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in ("%d/%m/%Y", "%d.%m.%Y"):
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise InvalidValue("not a date (expected YYYY-MM-DD)", "invalid_date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def import_activity(
    store: Store,
    path: Path,
    *,
    kind: str,
    settings: Settings,
    actor: Actor,
    source: str = "import",
    id_column: str | None = None,
    reject_path: Path | None = None,
    file_format: str | None = None,
    chunk_size: int = 5000,
    on_progress: Any = None,
) -> ActivitySummary:
    """``kind``: ``transactions`` or ``events``."""
    if kind not in ("transactions", "events"):
        raise BadRequest(
            "Import transactions or events.",
            errors=[FieldError("kind", "must be transactions or events")],
        )
    table = open_table(path, format=file_format)
    columns = {
        target: header
        for header in table.headers
        for target, aliases in _COLUMNS.items()
        if header_key(header) in {header_key(a) for a in aliases}
    }
    if id_column is not None and id_column not in table.headers:
        raise BadRequest(
            "The id column is not in the file.",
            errors=[FieldError("--id-column", "no column has this name")],
        )
    if id_column is None and "email" not in columns:
        raise BadRequest(
            "Say which column names the person: --id-column, or an e-mail column.",
            errors=[FieldError("--id-column", "is required for this file")],
        )
    needed = ["occurred_at", "amount"] if kind == "transactions" else ["occurred_at", "event"]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise BadRequest(
            "Columns are missing.",
            errors=[
                FieldError(name, "no column of the file maps to it", "missing_column")
                for name in missing
            ],
        )
    summary = ActivitySummary(kind)
    with store.unit_of_work() as uow:
        source_id = ensure_source(uow, source, kind="import")
        uow.commit()
    rows = iter(table.rows)
    while chunk := list(islice(rows, chunk_size)):
        _chunk(
            store,
            chunk,
            columns,
            id_column,
            kind,
            source,
            source_id,
            path.stem,
            settings,
            actor,
            summary,
        )
        if on_progress:
            on_progress(len(chunk))
    if summary._rejects:
        target = reject_path or path.with_name(path.stem + ".rejects.csv")
        write_rejects(target, table.headers, summary._rejects)
        summary.reject_file = str(target)
    summary.rejected = len(summary._rejects)
    return summary


def _chunk(
    store: Store,
    rows: list[tuple[int, dict[str, Any]]],
    columns: dict[str, str],
    id_column: str | None,
    kind: str,
    source: str,
    source_id: str,
    file_stem: str,
    settings: Settings,
    actor: Actor,
    summary: ActivitySummary,
) -> None:
    parsed: list[tuple[int, dict[str, Any], IdentityKey, dict[str, Any]]] = []
    for number, row in rows:
        summary.rows += 1
        try:
            person = _person(row, columns, id_column, source, settings)
            values = _values(row, columns, kind, settings, f"{file_stem}:{number}")
        except InvalidValue as exc:
            summary._rejects.append((number, row, exc.message))
            continue
        parsed.append((number, row, person, values))
    with store.unit_of_work() as uow:
        owners = _ensure_people(uow, [p for _, _, p, _ in parsed], settings, actor, source, summary)
        known = _known_ids(uow, kind, source_id, [v["external_id"] for _, _, _, v in parsed])
        rows_out: list[dict[str, Any]] = []
        now = utcnow()
        for _, _, person, values in parsed:
            if values["external_id"] in known:
                summary.duplicates += 1
                continue
            known.add(values["external_id"])
            rows_out.append(_row(kind, values, owners[(person.kind, person.value)], source_id, now))
        if kind == "transactions":
            uow.transactions.insert_many(rows_out)
        else:
            uow.events.insert_many(rows_out)
        touched = sorted({row["customer_id"] for row in rows_out})
        uow.customers.refresh_activity(touched)
        audit.record(uow, actor, f"import.{kind}", touched, [kind])
        uow.commit()
    summary.stored += len(rows_out)


def _person(
    row: dict[str, Any],
    columns: dict[str, str],
    id_column: str | None,
    source: str,
    settings: Settings,
) -> IdentityKey:
    if id_column is not None:
        value = row.get(id_column)
        if value is None or not str(value).strip():
            raise InvalidValue(f"{id_column}: is empty", "missing_id")
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return normalise_identity(f"external:{source}", text, region=settings.default_region)
    try:
        return normalise_identity(
            "email", str(row.get(columns["email"]) or ""), region=settings.default_region
        )
    except InvalidValue as exc:
        raise InvalidValue(f"email: {exc.message}", exc.code) from None


def _values(
    row: dict[str, Any], columns: dict[str, str], kind: str, settings: Settings, fallback_id: str
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    try:
        values["occurred_at"] = _when(row.get(columns["occurred_at"]))
    except InvalidValue as exc:
        raise InvalidValue(f"{columns['occurred_at']}: {exc.message}", exc.code) from None
    external = row.get(columns["order_id"]) if "order_id" in columns else None
    values["external_id"] = str(external).strip() if external not in (None, "") else fallback_id
    if kind == "transactions":
        try:
            values["amount_minor"] = to_minor_units(
                row.get(columns["amount"]), settings.currency_exponent
            )
        except InvalidValue as exc:
            raise InvalidValue(f"{columns['amount']}: {exc.message}", exc.code) from None
        quantity = row.get(columns["quantity"]) if "quantity" in columns else None
        values["quantity"] = None if quantity in (None, "") else quantity
        currency = row.get(columns["currency"]) if "currency" in columns else None
        values["currency"] = str(currency).upper()[:3] if currency else settings.currency
    else:
        name = row.get(columns["event"])
        if not name or not str(name).strip():
            raise InvalidValue(f"{columns['event']}: is empty", "missing_event")
        values["event"] = str(name).strip()[:200]
        values["properties"] = {k: v for k, v in row.items() if k not in columns.values()}
    return values


def _ensure_people(
    uow: UnitOfWork,
    people: list[IdentityKey],
    settings: Settings,
    actor: Actor,
    source: str,
    summary: ActivitySummary,
) -> dict[tuple[str, str], str]:
    owners = uow.identities.owners_of((p.kind, p.value) for p in people)
    missing = list(dict.fromkeys(p for p in people if (p.kind, p.value) not in owners))
    if missing:
        result = create_customers(
            uow,
            [{"identities": [{"kind": p.kind, "value": p.value}]} for p in missing],
            actor=actor,
            settings=settings,
            source=source,
        )
        summary.customers_created += len(result.created)
        owners.update(uow.identities.owners_of((p.kind, p.value) for p in missing))
    return owners


def _known_ids(uow: UnitOfWork, kind: str, source_id: str, ids: list[str]) -> set[str]:
    if kind == "events":
        return uow.events.known_message_ids(source_id, ids)
    return uow.transactions.known_order_ids(source_id, ids)


def _row(
    kind: str, values: dict[str, Any], customer_id: str, source_id: str, now: datetime
) -> dict[str, Any]:
    if kind == "transactions":
        return {
            "id": new_id(),
            "customer_id": customer_id,
            "source_id": source_id,
            "order_id": values["external_id"],
            "status": "completed",
            "occurred_at": values["occurred_at"],
            "amount_minor": values["amount_minor"],
            "refunded_minor": 0,
            "currency": values["currency"],
            "items": [{"quantity": values["quantity"]}] if values["quantity"] is not None else [],
            "channel": None,
            "payment_method": None,
            "event_id": None,
            "created_at": now,
            "updated_at": now,
        }
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "source_id": source_id,
        "message_id": values["external_id"],
        "type": "track",
        "name": values["event"],
        "anonymous_id": None,
        "user_id": None,
        "properties": values["properties"],
        "context": {"import": True},
        "occurred_at": values["occurred_at"],
        "received_at": now,
        "sent_at": None,
    }
