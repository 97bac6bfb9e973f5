"""Benchmark of the tracking API (`/v1/batch`) beside a raw endpoint, in the same run.

The server (one uvicorn worker) serves the real application plus a bench-only route,
`/bench/raw-batch`, that inserts the same events with plain `executemany` and no validation,
stitching or idempotency. The load generator is `wrk` in its own process: batches of 100
events, 16 connections on loopback. Afterwards the events in the database are counted against the
batches the server acknowledged.

Run: ``.venv/bin/python bench/ingest.py [--seconds 10] [--people 50000]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store import _free_port, _wait, parse_wrk
from clientela.domain.actor import Actor
from clientela.security.keyring import load_master_key
from clientela.setup.service import initialise_store
from clientela.sources.keys import create_tracking_source
from clientela.storage.store import Store

LUA = """
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
  math.randomseed(id * 7919)
end
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    local person = math.random(%(people)d)
    parts[i] = string.format(
      '{"type":"track","event":"Product Viewed","anonymousId":"anon-%%d",' ..
      '"messageId":"%(run)s-%%d-%%d-%%d","timestamp":"2026-11-20T10:00:00Z",' ..
      '"properties":{"product_id":"CAF-001","price":34.9}}',
      person, thread_id, counter, i)
  end
  local body = '{"batch":[' .. table.concat(parts, ",") .. '],"writeKey":"%(key)s"}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""


def _run_wrk(
    url: str, path: str, key: str, people: int, seconds: int, workdir: Path, run: str
) -> dict[str, float]:
    script = workdir / f"{run}.lua"
    script.write_text(LUA % {"people": people, "run": run, "key": key, "path": path})
    output = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = parse_wrk(output)
    acknowledged = figures["requests"] - figures["non_2xx"]
    return {
        "batches_acknowledged": acknowledged,
        "events_per_s": round(acknowledged * 100 / seconds),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "socket_errors": figures["socket_errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--people", type=int, default=50_000, help="distinct anonymous ids")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="clientela-ingest-"))
    try:
        store = Store(
            f"sqlite+pysqlite:///{workdir / 'clientela.db'}",
            keyring=load_master_key(workdir, create=True),
        )
        initialise_store(store)
        with store.unit_of_work() as uow:
            source = create_tracking_source(uow, "bench", actor=Actor.system())
            uow.commit()
        store.dispose()
        port = _free_port()
        env = dict(os.environ, CLIENTELA_DATA_DIR=str(workdir), PYTHONPATH=str(ROOT))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench._ingest_app:create_bench_app",
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
            url = f"http://127.0.0.1:{port}"
            results: dict[str, Any] = {"batch_size": 100, "connections": 16}
            results["raw"] = _run_wrk(
                url, "/bench/raw-batch", source.write_key, args.people, args.seconds, workdir, "raw"
            )
            results["tracking_api"] = _run_wrk(
                url, "/v1/batch", source.write_key, args.people, args.seconds, workdir, "api"
            )
        finally:
            server.terminate()
            server.wait(timeout=60)
        connection = sqlite3.connect(workdir / "clientela.db")
        stored = connection.execute(
            "SELECT count(*) FROM events WHERE message_id LIKE 'api-%'"
        ).fetchone()[0]
        connection.close()
        api = results["tracking_api"]
        api["events_stored"] = stored
        api["every_acknowledged_event_stored"] = stored >= api["batches_acknowledged"] * 100
        results["ratio_vs_raw"] = round(
            api["events_per_s"] / max(results["raw"]["events_per_s"], 1), 3
        )
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
