"""/api/v1/imports: upload, summary, reject file download (audited)."""

from __future__ import annotations

from typing import Any


def test_upload_summary_and_rejects(api: Any) -> None:
    content = "nome;email;telefone\nAna;ana@example.com;(11) 98765-4321\nBeto;beto@;x\n"
    response = api.post(
        "/api/v1/imports",
        files={"file": ("people.csv", content.encode("cp1252"))},
        data={"source": "crm"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "done" and body["has_rejects"]
    assert (body["summary"]["created"], body["summary"]["rejected"]) == (1, 1)
    listed = api.get("/api/v1/imports").json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == body["id"]
    rejects = api.get(f"/api/v1/imports/{body['id']}/rejects")
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    assert "Beto" in rejects.text and rejects.text.startswith("row_number,reason")
    found = api.post("/api/v1/customers/search", json={"q": "ana@example.com"}).json()
    assert found["count"] == 1


def test_unreadable_upload_is_a_400_and_recorded(api: Any) -> None:
    response = api.post("/api/v1/imports", files={"file": ("x.bin", b"\x00\x01\x02")})
    assert response.status_code == 400
    assert api.get("/api/v1/imports").json()["data"][0]["status"] == "failed"
    missing = api.get("/api/v1/imports/01a205d6-314e-7000-aa27-f0ccaeba521f")
    assert missing.status_code == 404


def test_transactions_upload(api: Any) -> None:
    content = b"customer_id,occurred_at,amount\n9,2026-01-02,10.50\n"
    response = api.post(
        "/api/v1/imports",
        files={"file": ("orders.csv", content)},
        data={"kind": "transactions", "source": "shop", "id_column": "customer_id"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["stored"] == 1
