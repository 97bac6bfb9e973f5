"""Importing messy real-world files (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from clientela.domain.errors import BadRequest
from clientela.ingest.imports import import_customers
from clientela.settings import Settings
from clientela.storage.store import Store
from tests.factories import actor

MESSY = (
    "Nome;E-mail;Telefone;CPF;Data de nascimento;Cidade;Cor favorita\r\n"
    "Maria da Silva;maria@example.com;(11) 98765-4321;529.982.247-25;12/04/1990;Recife;azul\r\n"
    "\r\n"
    "JOÃO SOUZA;joao@example;11 9 1234-5678;;31/02/1980;São Paulo;verde\r\n"
    "Zé Ninguém;;;;;Natal;\r\n"
    "Ana Lima;ana@example.com;+55 21 99876 5432;;1985-07-01;Rio;roxo\r\n"
    "Ana Lima;ana@example.com;21998765432;;1985-07-01;Rio;roxo\r\n"
    "Bia Costa;bia@example.com;(21) 3456-7890;111.444.777-35;2999-01-01;Niterói;\r\n"
)


def run(store: Store, path: Path, **kw: Any) -> Any:
    return import_customers(
        store, path, settings=Settings(), actor=actor(), source="crm", workers=1, **kw
    )


def test_messy_latin1_file_with_exact_reject_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "clientes.csv"
    path.write_bytes(MESSY.encode("cp1252"))
    summary = run(store, path)
    assert (summary.format, summary.encoding, summary.delimiter) == ("csv", "cp1252", ";")
    assert summary.unmapped == ["Cor favorita"]
    assert (summary.rows, summary.created, summary.updated, summary.rejected) == (6, 2, 0, 3)
    assert summary.unchanged == 1  # the duplicate row of Ana, phone written another way
    with open(summary.reject_file, encoding="utf-8") as handle:
        rejects = list(csv.reader(handle))
    assert rejects[0][:3] == ["row_number", "reason", "Nome"]
    assert [(r[0], r[2]) for r in rejects[1:]] == [
        ("4", "JOÃO SOUZA"),
        ("5", "Zé Ninguém"),
        ("8", "Bia Costa"),
    ]
    assert "email:" in rejects[1][1] and "birth_date:" in rejects[1][1]
    assert "no identity" in rejects[2][1]
    assert "birth_date: a birth date cannot be in the future" in rejects[3][1]
    again = run(store, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 2


def test_bom_tsv_and_external_ids(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.tsv"
    path.write_text(
        "\ufeffrec_id\tfull name\temail\n7\tLeo Alves\tleo@example.com\n", encoding="utf-8"
    )
    summary = run(store, path, id_column="rec_id")
    assert summary.created == 1
    with store.unit_of_work(write=False) as uow:
        assert uow.identities.owner_of("external:crm", "7") is not None


def test_jsonl_xlsx_and_parquet(store: Store, tmp_path: Path) -> None:
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        json.dumps({"email": "j1@example.com", "name": "Jo One"}) + "\n\nnot json\n",
        encoding="utf-8",
    )
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Nome", "E-mail", "Celular"])
    sheet.append(["Xavier Lopes", "x1@example.com", 11987650001])
    workbook.save(tmp_path / "b.xlsx")
    pq.write_table(
        pa.table({"Фамилия": ["Иванов"], "Имя": ["Иван"], "Эл. почта": ["ivan@example.ru"]}),
        tmp_path / "c.parquet",
    )
    assert run(store, jsonl).created == 1 and run(store, jsonl).rejected == 1
    xlsx = run(store, tmp_path / "b.xlsx")
    assert xlsx.created == 1 and xlsx.mapping["Celular"] == "phone"
    russian = run(store, tmp_path / "c.parquet")
    assert russian.created == 1
    assert set(russian.mapping.values()) == {"family_name", "given_name", "email"}


def test_dry_run_stores_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("email,name\nd1@example.com,Dora\n", encoding="utf-8")
    assert run(store, path, dry_run=True).created == 1
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 0


def test_unreadable_files_are_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BadRequest):
        run(store, tmp_path / "missing.csv")
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(BadRequest):
        run(store, binary)
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(BadRequest):
        run(store, tmp_path / "empty.csv")


def test_transactions_by_external_id_create_people_once(store: Store, tmp_path: Path) -> None:
    from clientela.ingest.activity_import import import_activity

    path = tmp_path / "cdnow.csv"
    path.write_text(
        "customer_id,occurred_at,amount,quantity\n"
        '1,1997-01-01,11.77,1\n1,1997-01-18,17.76,1\n2,1997-01-02,"12,00",2\n'
        "3,not-a-date,5.00,1\n4,1997-03-01,-3,1\n",
        encoding="utf-8",
    )
    summary = import_activity(
        store,
        path,
        kind="transactions",
        settings=Settings(),
        actor=actor(),
        source="cdnow",
        id_column="customer_id",
    )
    assert (summary.stored, summary.customers_created, summary.rejected) == (3, 2, 2)
    again = import_activity(
        store,
        path,
        kind="transactions",
        settings=Settings(),
        actor=actor(),
        source="cdnow",
        id_column="customer_id",
    )
    assert (again.stored, again.duplicates, again.customers_created) == (0, 3, 0)
    with store.unit_of_work(write=False) as uow:
        customer = uow.identities.owner_of("external:cdnow", "1") or ""
        profile = uow.customers.get(customer)
    assert profile is not None
    assert (profile["order_count"], profile["total_revenue_minor"]) == (2, 2953)


def test_events_import(store: Store, tmp_path: Path) -> None:
    from clientela.ingest.activity_import import import_activity

    path = tmp_path / "events.csv"
    path.write_text(
        "email,event,date,plan\nev@example.com,Signed Up,2026-01-02,pro\n", encoding="utf-8"
    )
    summary = import_activity(store, path, kind="events", settings=Settings(), actor=actor())
    assert (summary.stored, summary.customers_created) == (1, 1)
