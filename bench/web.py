"""Benchmark of the web application's pages at 100,000 customers (issue "See it").

A SQLite store with 100k customers (names, e-mails, name tokens), 300k events and 200k orders;
an admin signed in with MFA; each page requested many times in-process (Starlette's test client:
the server's own time, no network) beside the trivial ``/api/ping`` route in the same run.

Run: ``.venv/bin/python bench/web.py [--customers 100000] [--requests 40]``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp
from fastapi.testclient import TestClient

from bench.store import fill
from clientela.api.app import create_app
from clientela.domain.actor import Actor
from clientela.domain.ids import new_id
from clientela.security import users
from clientela.security.keyring import load_master_key
from clientela.settings import Settings
from clientela.setup.service import initialise_store
from clientela.storage.store import Store

PASSWORD = "a long benchmark passphrase 9"


def _activity(store: Store, ids: list[str], events_per: int, orders_per: int) -> None:
    rng = random.Random(5)
    now = datetime.now(UTC)
    with store.unit_of_work(write=False) as uow:
        source = str(uow.sources.get_by_name("api")["id"])  # type: ignore[index]
    events, orders = [], []
    for customer_id in ids:
        for _ in range(events_per):
            at = now - timedelta(days=rng.randint(0, 700), seconds=rng.randint(0, 86_000))
            events.append(
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "source_id": source,
                    "message_id": new_id(),
                    "type": "track",
                    "name": rng.choice(("Product Viewed", "Page Viewed", "Product Added")),
                    "properties": {},
                    "context": {},
                    "occurred_at": at,
                    "received_at": at,
                }
            )
        for _ in range(rng.randint(0, orders_per * 2)):
            at = now - timedelta(days=rng.randint(0, 700))
            orders.append(
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "source_id": source,
                    "order_id": new_id(),
                    "status": "completed",
                    "occurred_at": at,
                    "amount_minor": rng.randint(1_000, 90_000),
                    "refunded_minor": 0,
                    "currency": "BRL",
                    "items": [{"product_id": f"SKU-{rng.randint(1, 40)}"}],
                    "created_at": at,
                    "updated_at": at,
                }
            )
        if len(events) > 50_000:
            with store.unit_of_work() as uow:
                uow.events.insert_many(events)
                uow.transactions.insert_many(orders)
                uow.commit()
            events, orders = [], []
    with store.unit_of_work() as uow:
        uow.events.insert_many(events)
        uow.transactions.insert_many(orders)
        uow.commit()


def _consents(store: Store, ids: list[str]) -> None:
    """The demo catalogue's purposes, and a grant (some later withdrawn) per person."""
    from clientela.demo.catalogue import PURPOSES
    from clientela.privacy.register import create_purpose

    rng = random.Random(9)
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for purpose in PURPOSES:
            create_purpose(uow, dict(purpose), actor=Actor.cli())
        purpose_ids = list(uow.purposes.ids_by_key().values())
        source = str(uow.sources.get_by_name("api")["id"])  # type: ignore[index]
        uow.commit()
    rows = []
    for customer_id in ids:
        at = now - timedelta(days=rng.randint(30, 700))
        steps = [("grant", at)] + ([("withdraw", at + timedelta(days=20))] * (rng.random() < 0.2))
        for action, when in steps:
            rows.append(
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "purpose_id": rng.choice(purpose_ids),
                    "action": action,
                    "mechanism": "opt_in",
                    "lawful_basis": "consent",
                    "evidence": {"notice_version": "v1", "form": "signup"},
                    "source_id": source,
                    "occurred_at": when,
                    "recorded_at": when,
                }
            )
    for start in range(0, len(rows), 50_000):
        with store.unit_of_work() as uow:
            uow.consents.append_many(rows[start : start + 50_000])
            uow.commit()


PORTUGUESE = {"accept-language": "pt-BR,pt;q=0.9"}


def _signed_in(app: Any, store: Store) -> TestClient:
    with store.unit_of_work() as uow:
        created = users.create_user(
            uow, email="bench@example.com", role="admin", password=PASSWORD, actor=Actor.cli()
        )
        secret = users.start_mfa_enrolment(uow, created["id"], password=PASSWORD)["secret"]
        users.confirm_mfa(uow, created["id"], pyotp.TOTP(secret).now())
        uow.commit()
    client = TestClient(app)
    client.post("/sign-in", data={"email": "bench@example.com", "password": PASSWORD})
    client.post("/sign-in/mfa", data={"code": pyotp.TOTP(secret).at(int(time.time()) + 30)})
    return client


def _timed(client: TestClient, requests: int, method: str, url: str, **kw: Any) -> list[float]:
    client.request(method, url, **kw)  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.request(method, url, **kw)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="clientela-web-"))
    settings = Settings(data_dir=workdir)
    store = Store(settings.store_url, keyring=load_master_key(workdir, create=True))
    initialise_store(store)
    started = time.perf_counter()
    ids, emails = fill(store, args.customers)
    _activity(store, ids, events_per=3, orders_per=1)
    _consents(store, ids)
    built = time.perf_counter() - started
    app = create_app(settings, store)
    client = _signed_in(app, store)
    with store.unit_of_work() as uow:
        from clientela.analytics.cohorts import save_cohorts
        from clientela.analytics.rfm import compute_rfm

        compute_rfm(uow)
        save_cohorts(uow)
        uow.commit()
    page = client.get("/customers").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    person = ids[len(ids) // 2]
    pages = {
        "ping (baseline)": ("GET", "/api/ping", {}),
        "dashboard": ("GET", "/dashboard", {}),
        "search form": ("GET", "/customers", {}),
        "search by e-mail": (
            "POST",
            "/customers",
            {"data": {"q": emails[len(emails) // 3], "csrf_token": csrf}},
        ),
        "search by name prefix": (
            "POST",
            "/customers",
            {"data": {"q": "mar sil", "csrf_token": csrf}},
        ),
        "customer 360": ("GET", f"/customers/{person}", {}),
        "edit form": ("GET", f"/customers/{person}/edit", {}),
        "analytics": ("GET", "/analytics", {}),
        "segments": ("GET", "/segments", {}),
        "audit log of a customer": ("GET", f"/audit?customer_id={person}", {}),
        "consent ledger (latest)": ("GET", "/privacy/consents", {}),
        "consent ledger (withdrawals)": ("GET", "/privacy/consents?action=withdraw", {}),
        "consent ledger of a person": (
            "GET",
            f"/privacy/consents?person={emails[len(emails) // 3]}",
            {},
        ),
        "purposes register": ("GET", "/privacy/purposes", {}),
        "retention": ("GET", "/privacy/retention", {}),
        "breach reports": ("GET", "/privacy/breach", {}),
        "privacy requests": ("GET", "/privacy/requests", {}),
        "sources": ("GET", "/admin/sources", {}),
        "backups": ("GET", "/admin/backups", {}),
        "users and keys": ("GET", "/admin", {}),
        "duplicates queue": ("GET", "/duplicates", {}),
        "imports": ("GET", "/imports", {}),
        "account": ("GET", "/account", {}),
        # the same pages in Brazilian Portuguese: what translating and formatting costs
        "dashboard (pt-BR)": ("GET", "/dashboard", {"headers": PORTUGUESE}),
        "customer 360 (pt-BR)": ("GET", f"/customers/{person}", {"headers": PORTUGUESE}),
        "analytics (pt-BR)": ("GET", "/analytics", {"headers": PORTUGUESE}),
        "consent ledger (latest, pt-BR)": ("GET", "/privacy/consents", {"headers": PORTUGUESE}),
    }
    results: dict[str, Any] = {}
    for name, (method, url, kw) in pages.items():
        times = sorted(_timed(client, args.requests, method, url, **kw))
        results[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        }
    baseline = results["ping (baseline)"]["p50_ms"]
    for figures in results.values():
        figures["p50_vs_ping"] = round(figures["p50_ms"] / baseline, 1)
    print(
        json.dumps(
            {"customers": args.customers, "store_built_s": round(built, 1), "pages": results},
            indent=2,
        )
    )
    store.dispose()


if __name__ == "__main__":
    main()
