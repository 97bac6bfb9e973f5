"""The application plus a raw batch endpoint, for bench/ingest.py only (never served otherwise)."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from clientela.api.app import create_app
from clientela.settings import get_settings


def create_bench_app() -> FastAPI:
    app = create_app()
    path = get_settings().data_dir / "clientela.db"
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=30000")
    source_id = connection.execute("SELECT id FROM sources WHERE name = 'bench'").fetchone()[0]

    lock = threading.Lock()  # one connection, one writer: SQLite allows no more anyway

    def insert(messages: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = [
            (
                str(uuid.uuid4()),
                source_id,
                m["messageId"],
                m["type"],
                m.get("event"),
                m.get("anonymousId"),
                orjson.dumps(m.get("properties") or {}).decode(),
                "{}",
                m["timestamp"],
                now,
            )
            for m in messages
        ]
        with lock:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT INTO events (id, source_id, message_id, type, name, anonymous_id, "
                "properties, context, occurred_at, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            connection.execute("COMMIT")

    @app.post("/bench/raw-batch", include_in_schema=False)
    async def raw_batch(request: Request) -> dict[str, bool]:
        payload = orjson.loads(await request.body())
        await run_in_threadpool(insert, payload["batch"])
        return {"success": True}

    return app
