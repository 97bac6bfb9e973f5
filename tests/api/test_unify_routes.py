"""Duplicate detection, review, merge and unmerge through the API."""

from __future__ import annotations

from typing import Any

from clientela.settings import Settings
from clientela.storage.store import Store
from tests.factories import customer_payload, people_with_duplicates


def test_merge_answers_301_for_the_merged_id_and_undo_restores(api: Any) -> None:
    a = api.post("/api/v1/customers", json=customer_payload(city="Recife")).json()
    b = api.post("/api/v1/customers", json=customer_payload(city=...)).json()
    before = api.get(f"/api/v1/customers/{b['id']}").json()
    merged = api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": b["id"]})
    assert merged.status_code == 201, merged.text
    moved = api.get(f"/api/v1/customers/{b['id']}", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/api/v1/customers/{a['id']}"
    assert moved.json()["merged_into"] == a["id"]
    followed = api.get(f"/api/v1/customers/{b['id']}")
    assert followed.status_code == 200 and followed.json()["id"] == a["id"]
    assert len(followed.json()["identities"]) == 4  # both e-mails and both phones

    undone = api.post(f"/api/v1/merges/{merged.json()['merge_id']}/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["restored_id"] == b["id"]
    assert api.get(f"/api/v1/customers/{b['id']}").json() == before
    again = api.post(f"/api/v1/merges/{merged.json()['merge_id']}/undo")
    assert again.status_code == 409


def test_merge_of_unknown_or_same_customer_is_refused(api: Any) -> None:
    a = api.post("/api/v1/customers", json=customer_payload()).json()
    same = api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": a["id"]})
    assert same.status_code == 409
    unknown = api.post(
        "/api/v1/merges",
        json={"survivor_id": a["id"], "merged_id": "01a20000-0000-7000-8000-000000000000"},
    )
    assert unknown.status_code == 404


def test_review_queue_through_the_api(api: Any, store: Store, settings: Settings) -> None:
    people_with_duplicates(store, settings, n=400)
    run = api.post("/api/v1/dedupe/runs", json={"auto_merge": False})
    assert run.status_code == 200, run.text
    assert run.json()["queued"] > 0
    queue = api.get("/api/v1/dedupe/candidates", params={"limit": 1}).json()
    assert queue["counts"]["pending"] == run.json()["queued"]
    candidate = queue["data"][0]
    assert queue["next_cursor"] == (candidate["id"] if run.json()["queued"] > 1 else None)
    rejected = api.post(f"/api/v1/dedupe/candidates/{candidate['id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert api.post(f"/api/v1/dedupe/candidates/{candidate['id']}/accept").status_code == 409
    counts = api.get("/api/v1/dedupe/candidates").json()["counts"]
    assert counts["rejected"] == 1
    naive = api.post("/api/v1/dedupe/runs", json={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
