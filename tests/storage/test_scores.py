"""Per-person scores written by an analysis: set for the people given, emptied for the rest."""

from __future__ import annotations

from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories


def _scores(store: Store, ids: list[str]) -> list[tuple[float | None, int | None, str | None]]:
    with store.unit_of_work(write=False) as uow:
        rows = [uow.analytics.scores_of(customer_id) or {} for customer_id in ids]
    return [(r.get("clv_value"), r.get("rfm_r"), r.get("clv_horizon")) for r in rows]


def test_replacing_an_analysis_sets_the_people_given_and_empties_the_rest(
    store: Store, settings: Settings
) -> None:
    ids = [factories.stored_customer(store, settings)["id"] for _ in range(4)]
    with store.unit_of_work() as uow:
        uow.analytics.write_scores(
            [{"customer_id": i, "clv_value": 1.5, "rfm_r": 3} for i in ids[:3]],
            ("clv_value", "rfm_r"),
        )
        uow.commit()
    with store.unit_of_work() as uow:
        uow.analytics.replace_scores(
            [
                {"customer_id": ids[1], "clv_value": 7.25, "clv_horizon": "52 weeks"},
                {"customer_id": ids[3], "clv_value": None, "clv_horizon": "52 weeks"},
            ],
            ("clv_value", "clv_horizon"),
            batch=1,
        )
        uow.commit()
    assert _scores(store, ids) == [
        (None, 3, None),  # not given: this analysis's columns emptied, the others kept
        (7.25, 3, "52 weeks"),
        (None, 3, None),
        (None, None, "52 weeks"),  # a row created for someone without scores
    ]
