"""Quality kept current on write, and the dataset report."""

from __future__ import annotations

from clientela.customers import service
from clientela.dedupe.service import run_dedupe
from clientela.quality.service import quality_report
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.web.reports import render_html
from tests.factories import actor, people_with_duplicates, stored_customer

ACTOR = actor()


def test_quality_is_stored_on_create_and_kept_current_on_update(
    store: Store, settings: Settings
) -> None:
    profile = stored_customer(store, settings, birth_date=..., postal_code=...)
    assert profile["quality_score"] is not None
    assert "birth_date" in profile["quality"]["missing"]
    with store.unit_of_work() as uow:
        updated = service.update_customer(
            uow, profile["id"], {"birth_date": "1980-01-02"}, actor=ACTOR, settings=settings
        )
        uow.commit()
    assert updated["quality_score"] > profile["quality_score"]
    assert "birth_date" not in updated["quality"]["missing"]


def test_report_counts_issues_with_example_ids_and_no_values(
    store: Store, settings: Settings
) -> None:
    people_with_duplicates(store, settings, n=300)
    incomplete = stored_customer(store, settings, phone=..., birth_date=...)
    fast = settings.model_copy(update={"dedupe_u_max_pairs": 1e5})
    run_dedupe(store, settings=fast, actor=ACTOR)
    with store.unit_of_work(write=False) as uow:
        report = quality_report(uow, settings=settings, actor=ACTOR)
    assert report["profiles"] >= 300
    assert sum(report["score_distribution"].values()) == report["profiles"]
    assert report["missing"]["phone"]["count"] >= 1
    assert len(report["missing"]["phone"]["examples"]) <= 5
    assert report["suspected_duplicates"]["count"] >= 2
    assert set(report["by_source"]) >= {"demo", "api"}
    page = render_html(report)
    assert "Data quality report" in page
    assert incomplete["email"] not in page  # ids only, never values
