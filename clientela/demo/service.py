"""Load a generated demo population into a store through the customer services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clientela.analytics.runs import ANALYSES, run_analysis
from clientela.customers.service import create_customers
from clientela.demo.generator import DemoData, generate
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import ClientelaError
from clientela.domain.ids import new_id
from clientela.settings import Settings
from clientela.sources.service import source_id
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["DemoSummary", "analyse_demo", "load_demo"]

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class DemoSummary:
    customers: int
    rejected: int
    duplicates: int
    events: int
    orders: int
    consents: int


def load_demo(
    store: Store,
    settings: Settings,
    *,
    customers: int,
    seed: int = 42,
    as_of: date | None = None,
) -> DemoSummary:
    """Generate and store a demo population in one transaction (all or nothing)."""
    data = generate(customers, seed=seed, as_of=as_of)
    actor = Actor.system("demo")
    with store.unit_of_work() as uow:
        demo_source = source_id(uow, "demo")
        ids: dict[int, str] = {}
        rejected = 0
        for start in range(0, len(data.customers), CHUNK):
            chunk = [
                {k: v for k, v in person.items() if not k.startswith("_")}
                for person in data.customers[start : start + CHUNK]
            ]
            result = create_customers(uow, chunk, actor=actor, settings=settings, source="demo")
            rejected_rows = {rejection.index for rejection in result.rejected}
            rejected += len(rejected_rows)
            created = iter(result.created)
            for offset in range(len(chunk)):
                if offset not in rejected_rows:
                    ids[start + offset] = next(created)
        _store_activity(uow, data, ids, demo_source)
        uow.customers.refresh_activity()
        uow.commit()
    kept_duplicates = sum(1 for a, b in data.duplicates if a in ids and b in ids)
    return DemoSummary(
        customers=len(ids),
        rejected=rejected,
        duplicates=kept_duplicates,
        events=sum(1 for event in data.events if event["customer"] in ids),
        orders=sum(1 for order in data.orders if order["customer"] in ids),
        consents=sum(1 for consent in data.consents if consent["customer"] in ids),
    )


def analyse_demo(store: Store, settings: Settings) -> dict[str, str | None]:
    """Run every analysis of the analytics page on the loaded data, each in its own unit of
    work, so a new store shows figures at once. Name -> None when done, else why not (a demo
    too small for a model is said, not fatal)."""
    outcome: dict[str, str | None] = {}
    for name in ANALYSES:
        try:
            with store.unit_of_work() as uow:
                run_analysis(uow, name, settings=settings)
                uow.commit()
            outcome[name] = None
        except ClientelaError as exc:
            outcome[name] = exc.detail
    return outcome


def _store_activity(uow: UnitOfWork, data: DemoData, ids: dict[int, str], demo_source: str) -> None:
    now = utcnow()
    events = [
        {
            "id": new_id(),
            "customer_id": ids[event["customer"]],
            "source_id": demo_source,
            "message_id": event["message_id"],
            "type": event["type"],
            "name": event["name"],
            "anonymous_id": None,
            "user_id": None,
            "properties": event["properties"],
            "context": {"library": {"name": "clientela-demo"}},
            "occurred_at": event["occurred_at"],
            "received_at": now,
            "sent_at": None,
        }
        for event in data.events
        if event["customer"] in ids
    ]
    for start in range(0, len(events), 5000):
        uow.events.insert_many(events[start : start + 5000])
    orders = [
        {
            "id": new_id(),
            "customer_id": ids[order["customer"]],
            "source_id": demo_source,
            "order_id": order["order_id"],
            "status": order["status"],
            "occurred_at": order["occurred_at"],
            "amount_minor": order["amount_minor"],
            "refunded_minor": order["amount_minor"] if order["status"] == "refunded" else 0,
            "currency": order["currency"],
            "items": order["items"],
            "channel": order["channel"],
            "payment_method": order["payment_method"],
            "event_id": None,
            "created_at": now,
            "updated_at": now,
        }
        for order in data.orders
        if order["customer"] in ids
    ]
    for start in range(0, len(orders), 5000):
        uow.transactions.insert_many(orders[start : start + 5000])
    purpose_ids = uow.purposes.ids_by_key()
    for purpose in data.purposes:
        if purpose["key"] in purpose_ids:
            continue
        identifier = new_id()
        uow.purposes.add(
            {
                "id": identifier,
                "key": purpose["key"],
                "name": purpose["name"],
                "description": "",
                "lawful_basis": purpose["lawful_basis"],
                "data_categories": purpose["data_categories"],
                "recipients": purpose["recipients"],
                "international_transfers": [],
                "retention_days": purpose["retention_days"],
                "security_measures": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        purpose_ids[str(purpose["key"])] = identifier
    uow.consents.append_many(
        [
            {
                "id": new_id(),
                "customer_id": ids[consent["customer"]],
                "purpose_id": purpose_ids[consent["purpose"]],
                "action": consent["action"],
                "mechanism": "opt_in",
                "lawful_basis": "consent",
                "evidence": {"form": "demo sign-up form", "notice_version": "2025-01"},
                "source_id": demo_source,
                "occurred_at": consent["occurred_at"],
                "recorded_at": now,
            }
            for consent in data.consents
            if consent["customer"] in ids
        ]
    )
