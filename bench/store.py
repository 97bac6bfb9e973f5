"""Benchmark of the customer store (foundation issue).

1. Bulk creation through the service layer (validation, normalisation, identities, name tokens,
   provenance, audit) beside raw ``executemany`` of the same number of rows into the same SQLite
   database, in the same run.
2. GET-by-id and look-up by identity through HTTP (uvicorn, one worker, a separate process) at
   1M customers, beside a trivial ``/api/ping`` route, with a load generator outside the server
   process (wrk when installed, else a Python generator).

Run: ``.venv/bin/python bench/store.py [--create 100000] [--http 1000000] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._synthetic import people
from clientela.customers.bulk import create_in_chunks
from clientela.customers.profile import name_tokens
from clientela.customers.service import create_customers
from clientela.domain.actor import Actor, utcnow
from clientela.domain.fields import ValidationContext, validate_changes
from clientela.domain.ids import new_id
from clientela.security.apikeys import create_api_key
from clientela.security.keyring import load_master_key
from clientela.settings import Settings
from clientela.setup.service import initialise_store
from clientela.storage.store import Store

CHUNK = 5000


def _fresh_store(path: Path) -> Store:
    store = Store(f"sqlite+pysqlite:///{path}", keyring=load_master_key(path.parent, create=True))
    initialise_store(store)
    return store


def bench_create(count: int, workdir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=workdir)
    records = list(people(count))
    actor = Actor.system("bench")

    context = ValidationContext(region="BR", today=date.today())
    started = time.perf_counter()
    for record in records:
        validate_changes(record, context=context, registry={})
    validation_seconds = time.perf_counter() - started

    # One process: validate and write each chunk in turn.
    store = _fresh_store(workdir / "single.db")
    started = time.perf_counter()
    for offset in range(0, count, CHUNK):
        with store.unit_of_work() as uow:
            result = create_customers(
                uow, records[offset : offset + CHUNK], actor=actor, settings=settings, source="api"
            )
            assert not result.rejected, result.rejected[:3]
            uow.commit()
    single_seconds = time.perf_counter() - started
    store.dispose()

    # The bulk pipeline: the next chunk is validated in worker processes while one is written.
    store = _fresh_store(workdir / "create.db")
    started = time.perf_counter()
    result = create_in_chunks(
        store, records, actor=actor, settings=settings, source="api", chunk_size=CHUNK
    )
    service_seconds = time.perf_counter() - started
    assert len(result.created) == count, result.rejected[:3]
    with store.engine.connect() as connection:
        rows_written = sum(
            connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in (
                "customers",
                "identities",
                "customer_name_tokens",
                "field_provenance",
                "audit_entries",
            )
        )
    store.dispose()

    # Raw baseline: the same number of customer rows, pre-built tuples, plain executemany.
    connection = sqlite3.connect(workdir / "create.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE raw_customers AS SELECT * FROM customers WHERE 0")
    columns = [row[1] for row in connection.execute("PRAGMA table_info(raw_customers)")]
    now = datetime.now(UTC).isoformat()
    template = dict.fromkeys(columns)
    tuples = []
    for record in records:
        row = dict(
            template,
            id=new_id(),
            status="active",
            created_at=now,
            updated_at=now,
            version=1,
            event_count=0,
            order_count=0,
            total_revenue_minor=0,
            attributes="{}",
            given_name=record["given_name"],
            family_name=record["family_name"],
            email=record["email"],
            phone=record["phone"],
            document=record["document"],
            birth_date=record["birth_date"],
            city=record["city"],
            country="BR",
        )
        tuples.append(tuple(row[c] for c in columns))
    placeholders = ",".join("?" * len(columns))
    started = time.perf_counter()
    for offset in range(0, count, CHUNK):
        connection.executemany(
            f"INSERT INTO raw_customers VALUES ({placeholders})",
            tuples[offset : offset + CHUNK],
        )
        connection.commit()
    raw_seconds = time.perf_counter() - started
    # The machine's raw capacity on a narrow table, for comparison with published figures.
    connection.execute("CREATE TABLE raw_narrow (id TEXT PRIMARY KEY, email TEXT, phone TEXT)")
    narrow = [(row[0], row[columns.index("email")], row[columns.index("phone")]) for row in tuples]
    started = time.perf_counter()
    for offset in range(0, count, CHUNK):
        connection.executemany(
            "INSERT INTO raw_narrow VALUES (?, ?, ?)", narrow[offset : offset + CHUNK]
        )
        connection.commit()
    narrow_seconds = time.perf_counter() - started
    connection.close()

    customers_per_second = count / service_seconds
    raw_rows_per_second = count / raw_seconds
    per_customer = rows_written / count
    return {
        "customers": count,
        "service_pipeline_customers_per_s": round(customers_per_second),
        "service_single_process_customers_per_s": round(count / single_seconds),
        "raw_executemany_rows_per_s": round(raw_rows_per_second),
        "raw_executemany_narrow_rows_per_s": round(count / narrow_seconds),
        "ratio_vs_raw_rows": round(customers_per_second / raw_rows_per_second, 3),
        "rows_written_per_customer": round(per_customer, 2),
        "ratio_vs_raw_same_rows": round(
            customers_per_second * per_customer / raw_rows_per_second, 3
        ),
        "validation_only_customers_per_s_one_core": round(count / validation_seconds),
    }


# --- HTTP -------------------------------------------------------------------------------------


def fill(store: Store, count: int) -> tuple[list[str], list[str]]:
    """Pre-normalised rows straight through the repositories: the read path is what is timed."""
    ids: list[str] = []
    emails: list[str] = []
    now = utcnow()
    source = None
    generated = people(count, seed=2)
    with store.unit_of_work() as uow:
        from clientela.sources.service import source_id

        source = source_id(uow, "import")
        uow.commit()
    done = 0
    while done < count:
        size = min(20_000, count - done)
        customers, identities, tokens = [], [], []
        for _ in range(size):
            person = next(generated)
            customer_id = new_id()
            email = person["email"]
            row = {
                "id": customer_id,
                "created_at": now,
                "updated_at": now,
                "given_name": person["given_name"],
                "family_name": person["family_name"],
                "full_name": f"{person['given_name']} {person['family_name']}",
                "email": email,
                "city": person["city"],
                "country": "BR",
                "birth_date": date.fromisoformat(person["birth_date"]),
            }
            customers.append(row)
            identities.append(
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "kind": "email",
                    "value": email,
                    "source_id": source,
                    "verified": False,
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
            )
            tokens.extend({"token": t, "customer_id": customer_id} for t in name_tokens(row))
            if len(ids) < 200_000:
                ids.append(customer_id)
                emails.append(email)
        with store.unit_of_work() as uow:
            uow.customers.insert_many(customers)
            uow.identities.insert_many(identities)
            uow.customers.insert_name_tokens(tokens)
            uow.commit()
        done += size
    return ids, emails


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


WRK_SCRIPT = """
local ids = {}
local emails = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
for line in io.lines("%(emails)s") do emails[#emails + 1] = line end
local mode = "%(mode)s"
local counter = 0
request = function()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer %(token)s"}
  if mode == "get" then
    return wrk.format("GET", "/api/v1/customers/" .. ids[math.random(#ids)], headers)
  elseif mode == "lookup" then
    headers["Content-Type"] = "application/json"
    local body = '{"kind":"email","value":"' .. emails[math.random(#emails)] .. '"}'
    return wrk.format("POST", "/api/v1/customers/lookup", headers, body)
  end
  return wrk.format("GET", "/api/ping")
end
"""


def _wrk(
    port: int, mode: str, seconds: int, files: dict[str, str], token: str, connections: int = 16
) -> dict[str, float]:
    script = Path(files["dir"]) / f"{mode}.lua"
    script.write_text(
        WRK_SCRIPT % {"ids": files["ids"], "emails": files["emails"], "mode": mode, "token": token}
    )
    output = subprocess.run(
        [
            "wrk",
            "-t1" if connections == 1 else "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    parsed = parse_wrk(output)
    return {key: parsed[key] for key in ("requests_per_s", "p50_ms", "p99_ms", "non_2xx")}


def parse_wrk(output: str) -> dict[str, Any]:
    """The figures of a `wrk --latency` report (latencies in milliseconds)."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency: dict[str, float] = {}
    for label in ("50", "99"):
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output)
        assert match, output
        value, unit = float(match.group(1)), match.group(2)
        latency[label] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "requests_per_s": round(rps),
        "p50_ms": round(latency["50"], 2),
        "p99_ms": round(latency["99"], 2),
        "non_2xx": int(failed.group(1)) if failed else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def bench_http(count: int, seconds: int, workdir: Path) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("the HTTP benchmark needs wrk (apt-get install wrk)")
    data_dir = workdir / "http"
    data_dir.mkdir()
    store = Store(
        f"sqlite+pysqlite:///{data_dir / 'clientela.db'}",
        keyring=load_master_key(data_dir, create=True),
    )
    initialise_store(store)
    started = time.perf_counter()
    ids, emails = fill(store, count)
    fill_seconds = time.perf_counter() - started
    with store.unit_of_work() as uow:
        token = create_api_key(uow, name="bench", role="admin", actor=Actor.system()).token
        uow.commit()
    store.dispose()
    files = {
        "dir": str(workdir),
        "ids": str(workdir / "ids.txt"),
        "emails": str(workdir / "emails.txt"),
    }
    Path(files["ids"]).write_text("\n".join(ids) + "\n")
    Path(files["emails"]).write_text("\n".join(emails) + "\n")
    port = _free_port()
    env = dict(os.environ, CLIENTELA_DATA_DIR=str(data_dir), CLIENTELA_LOG_LEVEL="WARNING")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "clientela.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=str(ROOT),
    )
    try:
        _wait(port)
        _wrk(port, "ping", 2, files, token)  # warm-up
        results = {"customers": count, "fill_seconds": round(fill_seconds, 1)}
        for mode in ("ping", "get", "lookup", "ping"):
            key = mode if mode not in results else "ping_again"
            results[key] = _wrk(port, mode, seconds, files, token)
        # One connection: latency without queueing behind other requests.
        results["get_one_connection"] = _wrk(port, "get", max(3, seconds // 2), files, token, 1)
        results["ping_one_connection"] = _wrk(port, "ping", max(3, seconds // 2), files, token, 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ping = (results["ping"]["requests_per_s"] + results["ping_again"]["requests_per_s"]) / 2
    results["get_ratio_vs_ping"] = round(results["get"]["requests_per_s"] / ping, 3)
    results["lookup_ratio_vs_ping"] = round(results["lookup"]["requests_per_s"] / ping, 3)
    results["connections"] = 16
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--create", type=int, default=100_000, help="customers to create (0: skip)")
    parser.add_argument("--http", type=int, default=1_000_000, help="customers for HTTP (0: skip)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per HTTP run")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="clientela-bench-"))
    report: dict[str, Any] = {"machine": {"cores": os.cpu_count()}}
    try:
        if args.create:
            report["create"] = bench_create(args.create, workdir)
            print(json.dumps({"create": report["create"]}, indent=2), flush=True)
        if args.http:
            report["http"] = bench_http(args.http, args.seconds, workdir)
            print(json.dumps({"http": report["http"]}, indent=2), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
