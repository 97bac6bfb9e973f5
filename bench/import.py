"""Benchmark of the customer import (`clientela import customers`) beside raw `executemany` of the
same rows into the same SQLite database, in the same run.

Run: ``.venv/bin/python bench/import.py [--rows 1000000]``
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._synthetic import people
from clientela.domain.actor import Actor
from clientela.ingest.imports import import_customers
from clientela.security.keyring import load_master_key
from clientela.settings import Settings
from clientela.setup.service import initialise_store
from clientela.storage.store import Store

HEADERS = [
    "Nome",
    "Sobrenome",
    "E-mail",
    "Telefone",
    "CPF",
    "Data de nascimento",
    "Cidade",
    "CEP",
    "País",
]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADERS)
        for person in people(rows, seed=3):
            born = person["birth_date"]
            writer.writerow(
                [
                    person["given_name"],
                    person["family_name"],
                    person["email"],
                    person["phone"],
                    person["document"],
                    f"{born[8:10]}/{born[5:7]}/{born[:4]}",
                    person["city"],
                    person["postal_code"],
                    "Brasil",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="clientela-import-"))
    try:
        path = workdir / "clientes.csv"
        write_csv(path, args.rows)
        store = Store(
            f"sqlite+pysqlite:///{workdir / 'clientela.db'}",
            keyring=load_master_key(workdir, create=True),
        )
        initialise_store(store)
        started = time.perf_counter()
        summary = import_customers(
            store,
            path,
            settings=Settings(data_dir=workdir),
            actor=Actor.system("bench"),
            source="crm",
            chunk_size=5000,
        )
        seconds = time.perf_counter() - started
        store.dispose()
        assert summary.rejected == 0, summary.reject_file
        # Raw baseline: the same rows, read with csv and inserted with executemany.
        connection = sqlite3.connect(workdir / "clientela.db")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            f"CREATE TABLE raw_rows ({', '.join(f'c{i} TEXT' for i in range(len(HEADERS)))})"
        )
        placeholders = ",".join("?" * len(HEADERS))
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=";")
            next(reader)
            batch: list[list[str]] = []
            for row in reader:
                batch.append(row)
                if len(batch) == 5000:
                    connection.executemany(f"INSERT INTO raw_rows VALUES ({placeholders})", batch)
                    connection.commit()
                    batch = []
            if batch:
                connection.executemany(f"INSERT INTO raw_rows VALUES ({placeholders})", batch)
                connection.commit()
        raw_seconds = time.perf_counter() - started
        connection.close()
        result = {
            "rows": args.rows,
            "import_rows_per_s": round(args.rows / seconds),
            "created": summary.created,
            "raw_csv_executemany_rows_per_s": round(args.rows / raw_seconds),
            "ratio_vs_raw": round(raw_seconds / seconds, 3),
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
