"""Benchmark of analytics and segments (issue "Use it").

Generated data (default 1M customers, 10M events, 2M orders) is loaded into a fresh store on
SQLite and on PostgreSQL, and into DuckDB from the same rows. For each engine, in the same run:

- RFM: Clientela's aggregate read and the whole ``compute_rfm`` (read + quintiles + storing every
  person's scores) beside the hand-written SQL for the same aggregate, and DuckDB's;
- a 5-condition segment count (``count_segment``: country, quality, sign-up date, events in the
  last 90 days, order revenue in the last year) beside hand-written SQL (GROUP BY joins) and
  DuckDB;
- lifetime value: ``fit_clv`` and ``score_clv`` (read, fit BG/NBD + Gamma-Gamma, score, store)
  beside the hand-written summary aggregate and DuckDB's;
- cohorts: ``cohort_matrix`` beside a hand-written GROUP BY of first-order month × order month
  and DuckDB's.

Run: ``.venv/bin/python bench/analytics.py [--customers 1000000] [--events 10] [--orders 2]
[--engines sqlite,postgresql]``. Ratios are ours / raw SQL of the same engine.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clientela.analytics.clv import fit_clv, score_clv
from clientela.analytics.cohorts import cohort_matrix
from clientela.analytics.rfm import compute_rfm
from clientela.security.keyring import Keyring, load_master_key
from clientela.settings import Settings
from clientela.setup.service import initialise_store
from clientela.storage.store import Store

AS_OF = date(2026, 6, 30)
CUTOFF = datetime(2026, 7, 1, tzinfo=UTC)
START = datetime(2023, 7, 1, tzinfo=UTC)
COUNTRIES = ["BR"] * 6 + ["PT", "US", "AR", "RU"]
EVENT_NAMES = ["Product Viewed", "Page Viewed", "Product Added", "Checkout Started"]
SEGMENT = {
    "all": [
        {"field": "country", "op": "in", "value": ["BR", "PT"]},
        {"field": "quality_score", "op": "gte", "value": 50},
        {"field": "created_at", "op": "within_days", "value": 900},
        {"events": {"within_days": 90}, "op": "gte", "value": 2},
        {"orders": {"measure": "sum", "within_days": 365}, "op": "gt", "value": 10_000},
    ]
}


# --- data ---------------------------------------------------------------------------------------


def generate(customers: int, events_per: int, orders_per: int, seed: int = 7) -> dict[str, Any]:
    """Columns of customers, events and orders (numpy arrays; times as epoch seconds)."""
    rng = np.random.default_rng(seed)
    span = (CUTOFF - START).total_seconds()
    ids = np.array([f"{i:08x}-0000-7000-8000-{i:012x}" for i in range(customers)])
    created = START.timestamp() + rng.random(customers) * span * 0.8
    people = {
        "id": ids,
        "country": rng.choice(np.array(COUNTRIES), customers),
        "quality": rng.integers(0, 101, customers),
        "created": created,
    }
    n_events = customers * events_per
    who = rng.integers(0, customers, n_events)
    events = {
        "customer": who,
        "name": rng.choice(np.array(EVENT_NAMES), n_events),
        "at": created[who] + rng.random(n_events) * (CUTOFF.timestamp() - created[who]),
    }
    n_orders = customers * orders_per
    # half the customers buy; how often varies from person to person (gamma propensity)
    buyers = np.flatnonzero(rng.random(customers) < 0.5)
    propensity = rng.gamma(0.8, 1.0, len(buyers))
    buyer = buyers[rng.choice(len(buyers), n_orders, p=propensity / propensity.sum())]
    orders = {
        "customer": buyer,
        "at": created[buyer] + rng.random(n_orders) * (CUTOFF.timestamp() - created[buyer]),
        "amount": (rng.gamma(2.0, 6_000, n_orders)).astype(np.int64) + 500,
        "refunded": np.where(rng.random(n_orders) < 0.03, 1, 0),
    }
    return {"customers": people, "events": events, "orders": orders}


def _sqlite_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows_customers(data: dict[str, Any], text_time: bool) -> Iterator[tuple[Any, ...]]:
    people = data["customers"]
    stamp = _sqlite_time if text_time else (lambda e: datetime.fromtimestamp(e, UTC))
    for i in range(len(people["id"])):
        when = stamp(float(people["created"][i]))
        yield (
            people["id"][i],
            "active",
            when,
            when,
            1,
            str(people["country"][i]),
            int(people["quality"][i]),
            "{}",
            0,
            0,
            0,
        )


def _rows_events(data: dict[str, Any], source: str, text_time: bool) -> Iterator[tuple[Any, ...]]:
    ids = data["customers"]["id"]
    events = data["events"]
    stamp = _sqlite_time if text_time else (lambda e: datetime.fromtimestamp(e, UTC))
    for i in range(len(events["customer"])):
        when = stamp(float(events["at"][i]))
        yield (
            f"e{i:015x}",
            ids[events["customer"][i]],
            source,
            f"m{i}",
            "track",
            str(events["name"][i]),
            "{}",
            "{}",
            when,
            when,
        )


def _rows_orders(data: dict[str, Any], source: str, text_time: bool) -> Iterator[tuple[Any, ...]]:
    ids = data["customers"]["id"]
    orders = data["orders"]
    stamp = _sqlite_time if text_time else (lambda e: datetime.fromtimestamp(e, UTC))
    for i in range(len(orders["customer"])):
        when = stamp(float(orders["at"][i]))
        yield (
            f"t{i:015x}",
            ids[orders["customer"][i]],
            source,
            f"o{i}",
            "refunded" if orders["refunded"][i] else "completed",
            when,
            int(orders["amount"][i]),
            0,
            "BRL",
            "[]",
            when,
            when,
        )


_CUSTOMER_COLUMNS = (
    "id, status, created_at, updated_at, version, country, quality_score, attributes, "
    "event_count, order_count, total_revenue_minor"
)
_EVENT_COLUMNS = (
    "id, customer_id, source_id, message_id, type, name, properties, context, occurred_at, "
    "received_at"
)
_ORDER_COLUMNS = (
    "id, customer_id, source_id, order_id, status, occurred_at, amount_minor, refunded_minor, "
    "currency, items, created_at, updated_at"
)


def _source_id(store: Store) -> str:
    with store.unit_of_work(write=False) as uow:
        source = uow.sources.get_by_name("api")
        assert source is not None
        return str(source["id"])


def load_sqlite(path: Path, data: dict[str, Any]) -> Store:
    store = Store(f"sqlite+pysqlite:///{path}", keyring=load_master_key(path.parent, create=True))
    initialise_store(store)
    source = _source_id(store)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA synchronous=OFF")
    for table, columns, rows in (
        ("customers", _CUSTOMER_COLUMNS, _rows_customers(data, True)),
        ("events", _EVENT_COLUMNS, _rows_events(data, source, True)),
        ("transactions", _ORDER_COLUMNS, _rows_orders(data, source, True)),
    ):
        marks = ", ".join("?" * len(columns.split(",")))
        raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        raw.commit()
    raw.execute("ANALYZE")
    raw.close()
    return store


def load_postgresql(url: str, data: dict[str, Any]) -> Store:
    import psycopg

    store = Store(url, keyring=Keyring(secrets.token_bytes(32)))
    initialise_store(store)
    source = _source_id(store)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection:
        for table, columns, rows in (
            ("customers", _CUSTOMER_COLUMNS, _rows_customers(data, False)),
            ("events", _EVENT_COLUMNS, _rows_events(data, source, False)),
            ("transactions", _ORDER_COLUMNS, _rows_orders(data, source, False)),
        ):
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            connection.commit()
    with psycopg.connect(plain, autocommit=True) as connection:
        # what autovacuum does soon after a bulk load, done now so every figure sees it: the
        # visibility map lets look-ups on the covering indexes skip the table
        connection.execute("VACUUM ANALYZE")
    return store


def load_duckdb(data: dict[str, Any]) -> Any:
    import duckdb
    import pandas as pd

    people, events, orders = data["customers"], data["events"], data["orders"]
    connection = duckdb.connect()
    frames = {
        "customers": pd.DataFrame(
            {
                "id": people["id"],
                "status": "active",
                "country": people["country"],
                "quality_score": people["quality"],
                "created_at": pd.to_datetime(people["created"], unit="s", utc=True),
            }
        ),
        "events": pd.DataFrame(
            {
                "customer_id": people["id"][events["customer"]],
                "name": events["name"],
                "occurred_at": pd.to_datetime(events["at"], unit="s", utc=True),
            }
        ),
        "transactions": pd.DataFrame(
            {
                "customer_id": people["id"][orders["customer"]],
                "status": np.where(orders["refunded"] == 1, "refunded", "completed"),
                "occurred_at": pd.to_datetime(orders["at"], unit="s", utc=True),
                "amount_minor": orders["amount"],
                "refunded_minor": 0,
            }
        ),
    }
    for name, frame in frames.items():
        connection.register(f"{name}_frame", frame)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        connection.unregister(f"{name}_frame")
    return connection


# --- the hand-written SQL -----------------------------------------------------------------------

RFM_SQL = """
SELECT t.customer_id, max(t.occurred_at), count(*), sum(t.amount_minor - t.refunded_minor)
FROM transactions t JOIN customers c ON c.id = t.customer_id
WHERE t.occurred_at < :cutoff AND t.status IN ('completed', 'partially_refunded')
  AND c.status = 'active'
GROUP BY t.customer_id
"""

SEGMENT_SQL = """
SELECT count(*) FROM customers c
JOIN (SELECT customer_id FROM events
      WHERE occurred_at >= :events_since AND occurred_at < :until
      GROUP BY customer_id HAVING count(*) >= 2) e ON e.customer_id = c.id
JOIN (SELECT customer_id FROM transactions
      WHERE occurred_at >= :orders_since AND occurred_at < :until
        AND status IN ('completed', 'partially_refunded')
      GROUP BY customer_id HAVING sum(amount_minor - refunded_minor) > 10000) o
  ON o.customer_id = c.id
WHERE c.status = 'active' AND c.country IN ('BR', 'PT') AND c.quality_score >= 50
  AND c.created_at >= :created_since
"""

#: the same count written as a look-up per person on the (customer, time) covering indexes, the
#: profile conditions tested on one scan of customers (``+column`` keeps SQLite off their
#: indexes; PostgreSQL gets the plain columns)
SEGMENT_SQL_PER_PERSON = """
SELECT count(*) FROM customers c
WHERE +c.status = 'active' AND +c.country IN ('BR', 'PT') AND +c.quality_score >= 50
  AND +c.created_at >= :created_since
  AND (SELECT coalesce(sum(amount_minor - refunded_minor), 0) FROM transactions t
       WHERE t.customer_id = c.id AND t.occurred_at >= :orders_since AND t.occurred_at < :until
         AND t.status IN ('completed', 'partially_refunded')) > 10000
  AND (SELECT count(*) FROM events e
       WHERE e.customer_id = c.id AND e.occurred_at >= :events_since
         AND e.occurred_at < :until) >= 2
"""

SUMMARY_SQL = """
SELECT customer_id, count(DISTINCT {day}) - 1, min(occurred_at), max(occurred_at),
       sum(amount_minor - refunded_minor)
FROM transactions
WHERE occurred_at < :cutoff AND status IN ('completed', 'partially_refunded')
GROUP BY customer_id
"""

COHORT_SQL = """
WITH firsts AS (
  SELECT customer_id, min(occurred_at) AS first FROM transactions
  WHERE occurred_at < :cutoff AND status IN ('completed', 'partially_refunded')
  GROUP BY customer_id
)
SELECT {month_first}, {month_order}, count(DISTINCT t.customer_id),
       sum(t.amount_minor - t.refunded_minor)
FROM transactions t JOIN firsts f ON f.customer_id = t.customer_id
WHERE t.occurred_at < :cutoff AND t.status IN ('completed', 'partially_refunded')
GROUP BY 1, 2
"""

_DIALECT = {
    "sqlite": {
        "day": "date(occurred_at)",
        "month_first": "strftime('%Y-%m', f.first)",
        "month_order": "strftime('%Y-%m', t.occurred_at)",
    },
    "postgresql": {
        "day": "(occurred_at AT TIME ZONE 'UTC')::date",
        "month_first": "to_char(f.first AT TIME ZONE 'UTC', 'YYYY-MM')",
        "month_order": "to_char(t.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM')",
    },
    "duckdb": {
        "day": "CAST(occurred_at AS DATE)",
        "month_first": "strftime(f.first, '%Y-%m')",
        "month_order": "strftime(t.occurred_at, '%Y-%m')",
    },
}


def _parameters(engine: str) -> dict[str, Any]:
    def moment(value: datetime) -> Any:
        return (
            value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            if engine == "sqlite"
            else value
        )

    return {
        "cutoff": moment(CUTOFF),
        "until": moment(CUTOFF),
        "events_since": moment(CUTOFF - timedelta(days=91)),
        "orders_since": moment(CUTOFF - timedelta(days=366)),
        "created_since": moment(CUTOFF - timedelta(days=901)),
    }


def _raw(store: Store, engine: str, sql: str) -> Callable[[], int]:
    from sqlalchemy import text

    statement = text(sql.format(**_DIALECT[engine]))
    wanted = set(statement.compile().params)
    parameters = {k: v for k, v in _parameters(engine).items() if k in wanted}

    def run() -> int:
        with store.engine.connect() as connection:
            return len(connection.execute(statement, parameters).all())

    return run


def _duck(connection: Any, sql: str) -> Callable[[], int]:
    import re

    query = sql.format(**_DIALECT["duckdb"])
    names = re.findall(r":(\w+)", query)
    query = re.sub(r":(\w+)", "?", query)
    parameters = [_parameters("duckdb")[name] for name in names]

    def run() -> int:
        return len(connection.execute(query, parameters).fetchall())

    return run


# --- measuring ------------------------------------------------------------------------------------


def _time(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(store: Store, engine: str, duck: Any, repeat: int) -> dict[str, Any]:
    from clientela.segments.service import count_segment
    from clientela.storage.segments import compile_segment

    settings = Settings()
    figures: dict[str, Any] = {}

    def with_uow(function: Callable[[Any], Any], write: bool = False) -> Callable[[], Any]:
        def run() -> Any:
            with store.unit_of_work(write=write) as uow:
                result = function(uow)
                if write:
                    uow.commit()
                return result

        return run

    raw, _ = _time(_raw(store, engine, RFM_SQL), repeat)
    read, rows = _time(with_uow(lambda uow: uow.analytics.rfm_aggregate(CUTOFF)), repeat)
    total, _ = _time(with_uow(lambda uow: compute_rfm(uow, as_of=AS_OF), write=True), 1)
    duck_time, _ = _time(_duck(duck, RFM_SQL), repeat)
    figures["rfm"] = {
        "customers_scored": len(rows),
        "raw_sql_s": round(raw, 3),
        "ours_read_s": round(read, 3),
        "ours_total_with_storing_s": round(total, 3),
        "duckdb_s": round(duck_time, 3),
        "ratio_read": round(read / raw, 2),
        "ratio_total": round(total / raw, 2),
    }

    grouped, raw_count = _time(_raw_count(store, engine, SEGMENT_SQL), repeat)
    per_person_sql = SEGMENT_SQL_PER_PERSON
    if engine != "sqlite":
        per_person_sql = per_person_sql.replace("+c.", "c.")
    per_person, _ = _time(_raw_count(store, engine, per_person_sql), repeat)
    raw = min(grouped, per_person)  # the better hand-written form is the baseline
    ours, count = _time(with_uow(lambda uow: count_segment(uow, SEGMENT, as_of=AS_OF)), repeat)
    duck_time, duck_count = _time(_duck_count(duck), repeat)
    with store.unit_of_work(write=False) as uow:
        from clientela.segments.service import check_definition

        compiled = str(
            compile_segment(check_definition(uow, SEGMENT), as_of=AS_OF).compile(
                store.engine, compile_kwargs={"literal_binds": False}
            )
        )
    figures["segment_count"] = {
        "members": count,
        "raw_members": raw_count,
        "duckdb_members": duck_count,
        "raw_sql_grouped_s": round(grouped, 3),
        "raw_sql_per_person_s": round(per_person, 3),
        "ours_s": round(ours, 3),
        "duckdb_s": round(duck_time, 3),
        "ratio": round(ours / raw, 2),
        "compiled_chars": len(compiled),
    }

    raw, _ = _time(_raw(store, engine, SUMMARY_SQL), repeat)
    fit, fitted = _time(with_uow(lambda uow: fit_clv(uow, settings=settings, until=AS_OF)), 1)
    score, scored = _time(
        with_uow(
            lambda uow: score_clv(uow, settings=settings, horizon=52, until=AS_OF), write=True
        ),
        1,
    )
    duck_time, _ = _time(_duck(duck, SUMMARY_SQL), repeat)
    figures["clv"] = {
        "customers": scored["customers"],
        "raw_summary_sql_s": round(raw, 3),
        "duckdb_summary_s": round(duck_time, 3),
        "ours_fit_s": round(fit, 3),
        "ours_fit_score_store_s": round(score, 3),
        "ratio_fit_to_raw_summary": round(fit / raw, 2),
        "parameters": {k: round(fitted[k], 4) for k in ("r", "alpha", "a", "b", "p", "q", "gamma")},
    }

    raw, _ = _time(_raw(store, engine, COHORT_SQL), repeat)
    ours, matrix = _time(with_uow(lambda uow: cohort_matrix(uow, until=AS_OF)), repeat)
    duck_time, _ = _time(_duck(duck, COHORT_SQL), repeat)
    figures["cohorts"] = {
        "cohorts": len(matrix["cohorts"]),
        "raw_sql_s": round(raw, 3),
        "ours_s": round(ours, 3),
        "duckdb_s": round(duck_time, 3),
        "ratio": round(ours / raw, 2),
    }
    return figures


def _raw_count(store: Store, engine: str, sql: str) -> Callable[[], int]:
    from sqlalchemy import text

    statement = text(sql)
    parameters = _parameters(engine)

    def run() -> int:
        with store.engine.connect() as connection:
            return int(connection.execute(statement, parameters).scalar_one())

    return run


def _duck_count(connection: Any) -> Callable[[], int]:
    import re

    names = re.findall(r":(\w+)", SEGMENT_SQL)
    query = re.sub(r":(\w+)", "?", SEGMENT_SQL)
    parameters = [_parameters("duckdb")[name] for name in names]

    def run() -> int:
        return int(connection.execute(query, parameters).fetchone()[0])

    return run


@contextmanager
def _postgres() -> Iterator[str]:
    from tests import postgres

    # memory for a server of this size (the 128 MB default is for a first try; the tables and
    # indexes here take over 5 GB); both the hand-written SQL and Clientela's run on it
    with postgres.server(settings={"shared_buffers": "2GB"}) as server:
        from pytest_postgresql.janitor import DatabaseJanitor

        janitor = DatabaseJanitor(
            user=server.user, host=server.host, port=server.port, dbname="clientela_bench"
        )
        janitor.init()
        try:
            yield server.url("clientela_bench")
        finally:
            janitor.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10, help="events per customer")
    parser.add_argument("--orders", type=int, default=2, help="orders per customer")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    random.seed(7)
    started = time.perf_counter()
    data = generate(args.customers, args.events, args.orders)
    report: dict[str, Any] = {
        "customers": args.customers,
        "events": args.customers * args.events,
        "orders": args.customers * args.orders,
        "generated_s": round(time.perf_counter() - started, 1),
    }
    duck = load_duckdb(data)
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory(prefix="clientela-bench-") as workdir:
            started = time.perf_counter()
            if engine == "sqlite":
                store = load_sqlite(Path(workdir) / "bench.db", data)
                report[engine] = {"loaded_s": round(time.perf_counter() - started, 1)}
                report[engine] |= measure(store, engine, duck, args.repeat)
                store.dispose()
            else:
                with _postgres() as url:
                    store = load_postgresql(url, data)
                    report[engine] = {"loaded_s": round(time.perf_counter() - started, 1)}
                    report[engine] |= measure(store, engine, duck, args.repeat)
                    store.dispose()
        print(json.dumps({engine: report[engine]}, indent=2), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
