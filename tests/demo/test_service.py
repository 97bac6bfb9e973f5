"""A demo store comes with its analyses computed, so the analytics page has figures at once."""

from __future__ import annotations

from clientela.analytics.cohorts import stored_cohorts
from clientela.demo.service import analyse_demo, load_demo
from clientela.settings import Settings
from clientela.storage.store import Store


def test_the_demo_is_analysed_or_says_why_not(sqlite_store: Store, settings: Settings) -> None:
    summary = load_demo(sqlite_store, settings, customers=150, seed=5)
    outcome = analyse_demo(sqlite_store, settings)
    assert list(outcome) == ["rfm", "clv", "churn", "recommend", "cohorts"]
    assert all(problem is None or problem.strip() for problem in outcome.values())
    assert outcome["rfm"] is None and outcome["cohorts"] is None
    with sqlite_store.unit_of_work(write=False) as uow:
        cohorts = stored_cohorts(uow)
        grid = uow.analytics.rfm_grid()
    assert cohorts is not None and cohorts[0]["cohorts"]
    assert 0 < sum(grid.values()) <= summary.customers  # everyone with an order, scored
