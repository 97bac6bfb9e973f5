"""Per-person scores written by an analysis: set for the people given, emptied for the rest."""

from __future__ import annotations

from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories, plans


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


def test_postgresql_reads_the_written_ids_once_whatever_its_statistics_say(
    postgres_store: Store, settings: Settings
) -> None:
    """The plan, not a timing. Statistics gathered before an analysis first ran say none of
    its columns is set; an anti-join planned on them scanned every written id once per scored
    person (378k × 378k: lifetime value's emptying ran for over half an hour). The written ids
    are now read once, whatever the statistics."""
    ids = [factories.stored_customer(postgres_store, settings)["id"] for _ in range(30)]
    with postgres_store.unit_of_work() as uow:
        uow.analytics.write_scores([{"customer_id": i, "rfm_r": 3} for i in ids], ("rfm_r",))
        uow.commit()
    with postgres_store.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE customer_scores")
        connection.commit()
    with postgres_store.unit_of_work() as uow:
        uow.analytics.write_scores(
            [{"customer_id": i, "clv_value": 1.0} for i in ids], ("clv_value",)
        )
        uow.commit()

    def replace() -> None:
        with postgres_store.unit_of_work() as uow:  # not committed
            rows = [{"customer_id": i, "clv_value": 2.0} for i in ids[:20]]
            uow.analytics.replace_scores(rows, ("clv_value",))

    emptying = plans.captured(postgres_store, "UPDATE customer_scores", replace)
    nodes = plans.executed_plan(postgres_store, *emptying)
    reading_ids = [
        n
        for n in nodes
        if "unnest" in str(n.get("Function Name", "")) or n["Node Type"] == "ProjectSet"
    ]
    assert reading_ids, nodes
    assert {n["Actual Loops"] for n in reading_ids} == {1}, nodes
