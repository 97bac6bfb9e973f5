"""Benchmark of field encryption: look-up by blind index against an unencrypted indexed look-up.

The store holds N customers whose e-mails are sealed, with identities stored as blind indexes
(keyed HMAC). In the same SQLite file a plain table holds the same e-mails under the same kind
of unique (kind, value) index. Timed, in the same run and the same process:

- ``blind``: ``IdentityRepository.owner_of("email", e)`` — HMAC of the value, then an index seek;
- ``plain``: the same statement on the plain table through the same driver cursor path;
- ``profile``: reading the found profile with its sealed fields opened (key unwrap + AES-GCM),
  beside ``profile_raw``, the same row read without opening.

Run: ``.venv/bin/python bench/security.py [--customers 200000] [--lookups 20000]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store import fill
from clientela.security.keyring import load_master_key
from clientela.setup.service import initialise_store
from clientela.storage import raw
from clientela.storage.store import Store
from clientela.storage.tables import customers


def _timed(label: str, calls: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"  {label:<12} {elapsed / calls * 1e6:8.1f} µs per look-up")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clientela-bench-security-") as work:
        data = Path(work)
        store = Store(
            f"sqlite+pysqlite:///{data / 'clientela.db'}",
            keyring=load_master_key(data, create=True),
        )
        initialise_store(store)
        started = time.perf_counter()
        ids, emails = fill(store, args.customers)
        print(f"filled {args.customers} customers in {time.perf_counter() - started:.1f} s")
        with store.engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE plain_lookup (kind TEXT NOT NULL, value TEXT NOT NULL, "
                "customer_id TEXT NOT NULL, UNIQUE (kind, value))"
            )
            connection.connection.driver_connection.executemany(  # type: ignore[union-attr]
                "INSERT INTO plain_lookup VALUES ('email', ?, ?)",
                list(zip(emails, ids, strict=True)),
            )
        rng = random.Random(7)
        sample = [rng.randrange(len(ids)) for _ in range(args.lookups)]
        wanted = [emails[i] for i in sample]
        best: dict[str, float] = {}
        with store.unit_of_work(write=False) as uow:
            connection = uow.identities.connection

            def blind() -> None:
                for email in wanted:
                    assert uow.identities.owner_of("email", email) is not None

            def plain() -> None:
                for email in wanted:
                    assert (
                        raw.scalar(
                            connection,
                            "SELECT customer_id FROM plain_lookup WHERE kind = ? AND value = ?",
                            ("email", email),
                        )
                        is not None
                    )

            found = [ids[i] for i in sample]

            def profile() -> None:
                for customer_id in found:
                    assert uow.customers.get(customer_id) is not None

            def profile_raw() -> None:
                for customer_id in found:
                    assert raw.select_rows(connection, customers, '"id" = ?', (customer_id,))

            for round_ in range(args.repeat):
                print(f"round {round_ + 1}")
                for label, run in (
                    ("plain", plain),
                    ("blind", blind),
                    ("profile_raw", profile_raw),
                    ("profile", profile),
                ):
                    elapsed = _timed(label, len(wanted), run)
                    best[label] = min(best.get(label, elapsed), elapsed)
        store.dispose()
    summary = {
        "customers": args.customers,
        "lookups": args.lookups,
        "plain_us": round(best["plain"] / args.lookups * 1e6, 1),
        "blind_us": round(best["blind"] / args.lookups * 1e6, 1),
        "blind_over_plain": round(best["blind"] / best["plain"], 2),
        "profile_raw_us": round(best["profile_raw"] / args.lookups * 1e6, 1),
        "profile_opened_us": round(best["profile"] / args.lookups * 1e6, 1),
        "opened_over_raw": round(best["profile"] / best["profile_raw"], 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
