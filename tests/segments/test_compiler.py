"""The segment compiler against a plain Python evaluation of the same tree over the same rows:
random people (fields, custom attributes, identities, scores, events, orders, consents) and
random rule trees, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientela.attributes.service import define_attribute
from clientela.domain.attributes import AttributeDefinition, AttributeType, Category, Sensitivity
from clientela.domain.errors import ValidationFailed
from clientela.domain.ids import new_id
from clientela.domain.segments import (
    Aggregate,
    Consent,
    Group,
    Membership,
    Node,
    Not,
    Predicate,
    parse_definition,
)
from clientela.privacy.register import create_purpose
from clientela.segments.service import (
    check_definition,
    count_segment,
    create_segment,
    materialise_segment,
)
from clientela.storage.segments import compile_segment
from clientela.storage.store import Store
from tests import factories, plans

AS_OF = date(2026, 6, 30)
NOON = datetime(2026, 6, 30, 12, tzinfo=UTC)
COUNTRIES = ["BR", "PT", "US", None]
WORDS = ["ana", "bruno", "carla", "Dario", "ed", ""]
EVENT_NAMES = ["Viewed", "Added", "Signed Up"]
SEGMENTS = ["Champions", "Lost", "Loyal"]
PROPERTIES = [{}, {"plan": "pro"}, {"plan": "free", "seats": 2}, {"plan": 1}, {"seats": 2.0}]
PRODUCTS = ["SKU-1", "SKU-2", "SKU-3"]
CATEGORIES = ["shoes", "books"]
#: saved segments the trees may name: definitions that do not depend on the day
SAVED = {
    "brazilians": {"field": "country", "op": "eq", "value": "BR"},
    "buyers": {"orders": {"measure": "count"}, "op": "gte", "value": 1},
}
_serial = itertools.count()


# --- data ---------------------------------------------------------------------------------------

days = st.integers(0, 900)
person = st.fixed_dictionaries(
    {
        "country": st.sampled_from(COUNTRIES),
        "city": st.sampled_from([None, *WORDS]),
        "household_size": st.none() | st.integers(1, 6),
        "quality_score": st.none() | st.integers(0, 100),
        "birth_days": st.none() | st.integers(6000, 30000),
        "created_days": days,
        "tier": st.none() | st.sampled_from(["gold", "silver", "Gold"]),
        "points": st.none() | st.integers(0, 500),
        "vip": st.none() | st.booleans(),
        "email": st.booleans(),
        "phone": st.booleans(),
        "score": st.none()
        | st.tuples(st.sampled_from(SEGMENTS), st.integers(1, 5), st.floats(0, 1)),
        "events": st.lists(
            st.tuples(st.sampled_from(EVENT_NAMES), days, st.sampled_from(PROPERTIES)),
            max_size=4,
        ),
        "orders": st.lists(
            st.tuples(
                st.integers(100, 90_000),
                st.sampled_from(["completed", "refunded"]),
                days,
                st.lists(
                    st.tuples(
                        st.sampled_from(["product_id", "sku"]),
                        st.sampled_from(PRODUCTS),
                        st.sampled_from(CATEGORIES),
                    ),
                    max_size=2,
                ),
            ),
            max_size=3,
        ),
        "consents": st.lists(
            st.tuples(
                st.sampled_from(["news", "ads"]), st.sampled_from(["grant", "withdraw"]), days
            ),
            max_size=3,
        ),
    }
)


def _store_people(store: Store, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stored = []
    with store.unit_of_work() as uow:
        source_id = str(uow.sources.get_by_name("api")["id"])  # type: ignore[index]
        purpose_ids = uow.purposes.ids_by_key()
        customers, identities, events, orders, consents, scores = [], [], [], [], [], []
        for data in people:
            cid = new_id()
            n = next(_serial)
            attributes = {k: data[k] for k in ("tier", "points", "vip") if data[k] is not None}
            row = {
                "id": cid,
                "status": "active",
                "created_at": NOON - timedelta(days=data["created_days"]),
                "updated_at": NOON,
                "version": 1,
                "country": data["country"],
                "city": data["city"],
                "household_size": data["household_size"],
                "quality_score": data["quality_score"],
                "birth_date": None
                if data["birth_days"] is None
                else AS_OF - timedelta(days=data["birth_days"]),
                "attributes": attributes,
            }
            customers.append(row)
            for kind, present in (("email", data["email"]), ("phone", data["phone"])):
                if present:
                    identities.append(
                        {
                            "id": new_id(),
                            "customer_id": cid,
                            "kind": kind,
                            "value": f"{kind}-{n}",
                            "source_id": source_id,
                            "verified": False,
                            "first_seen_at": NOON,
                            "last_seen_at": NOON,
                        }
                    )
            for name, ago, properties in data["events"]:
                events.append(
                    {
                        "id": new_id(),
                        "customer_id": cid,
                        "source_id": source_id,
                        "message_id": new_id(),
                        "type": "track",
                        "name": name,
                        "properties": properties,
                        "context": {},
                        "occurred_at": NOON - timedelta(days=ago),
                        "received_at": NOON,
                    }
                )
            for amount, status, ago, items in data["orders"]:
                orders.append(
                    {
                        "id": new_id(),
                        "customer_id": cid,
                        "source_id": source_id,
                        "order_id": new_id(),
                        "status": status,
                        "occurred_at": NOON - timedelta(days=ago),
                        "amount_minor": amount,
                        "refunded_minor": 0,
                        "currency": "BRL",
                        "items": [{kind: product, "category": c} for kind, product, c in items],
                        "created_at": NOON,
                        "updated_at": NOON,
                    }
                )
            for k, (purpose, action, ago) in enumerate(data["consents"]):
                consents.append(
                    {
                        "id": new_id(),
                        "customer_id": cid,
                        "purpose_id": purpose_ids[purpose],
                        "action": action,
                        "mechanism": "opt_in",
                        "lawful_basis": "consent",
                        "evidence": {},
                        "source_id": source_id,
                        "occurred_at": NOON - timedelta(days=ago),
                        "recorded_at": NOON + timedelta(seconds=k),
                    }
                )
            if data["score"] is not None:
                scores.append(
                    {
                        "customer_id": cid,
                        "rfm_segment": data["score"][0],
                        "rfm_r": data["score"][1],
                        "churn_score": data["score"][2],
                    }
                )
            stored.append({**data, "row": row})
        uow.customers.insert_many(customers)
        uow.identities.insert_many(identities)
        uow.events.insert_many(events)
        uow.transactions.insert_many(orders)
        uow.consents.append_many(consents)
        uow.analytics.write_scores(scores, ("rfm_segment", "rfm_r", "churn_score"))
        for key in SAVED:
            materialise_segment(uow, key, actor=factories.actor())
        uow.commit()
    return stored


# --- trees --------------------------------------------------------------------------------------


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    text_ops = st.sampled_from(["eq", "ne", "contains", "starts_with", "is_empty", "not_empty"])
    number_ops = st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "is_empty", "not_empty"])
    date_ops = st.sampled_from(
        ["eq", "lt", "lte", "gt", "gte", "within_days", "older_than_days", "is_empty"]
    )

    def condition(field: str, ops: st.SearchStrategy[str], values: st.SearchStrategy[Any]) -> Any:
        return st.tuples(ops, values).map(
            lambda pair: (
                {"field": field, "op": pair[0]}
                | ({} if pair[0] in ("is_empty", "not_empty") else {"value": pair[1]})
            )
        )

    def dated(field: str) -> Any:
        return st.tuples(date_ops, st.integers(0, 30000)).map(
            lambda pair: (
                {"field": field, "op": pair[0]}
                | (
                    {}
                    if pair[0] == "is_empty"
                    else {
                        "value": pair[1]
                        if pair[0] in ("within_days", "older_than_days")
                        else (AS_OF - timedelta(days=pair[1])).isoformat()
                    }
                )
            )
        )

    return st.one_of(
        condition("country", text_ops, st.sampled_from(["BR", "PT", "br"])),
        st.sampled_from(COUNTRIES[:3]).map(
            lambda v: {"field": "country", "op": "in", "value": [v, "US"]}
        ),
        condition("city", text_ops, st.sampled_from(["an", "ANA", "b", "Dar", ""])),
        condition("household_size", number_ops, st.integers(0, 7)),
        condition("quality_score", number_ops, st.integers(0, 100)),
        st.tuples(st.integers(0, 50), st.integers(0, 100)).map(
            lambda p: {"field": "quality_score", "op": "between", "value": [p[0], p[1]]}
        ),
        dated("birth_date"),
        dated("created_at"),
        condition("attributes.tier", text_ops, st.sampled_from(["gold", "GO", "silver"])),
        condition("attributes.points", number_ops, st.integers(0, 500)),
        condition("attributes.vip", st.sampled_from(["eq", "is_empty"]), st.booleans()),
        condition("identity.email", st.sampled_from(["is_empty", "not_empty"]), st.none()),
        condition("identity.phone", st.sampled_from(["is_empty", "not_empty"]), st.none()),
        condition("score.rfm_segment", text_ops, st.sampled_from(SEGMENTS)),
        condition("score.rfm_r", number_ops, st.integers(1, 5)),
        condition("score.churn_score", st.sampled_from(["gt", "lte"]), st.floats(0, 1)),
        st.tuples(
            st.none() | st.sampled_from(EVENT_NAMES),
            st.none() | st.integers(1, 900),
            st.sampled_from(["gte", "lt", "eq"]),
            st.integers(0, 3),
            st.sampled_from(
                [
                    None,
                    {"plan": "pro"},
                    {"plan": 1},
                    {"plan": "1"},
                    {"seats": 2},
                    {"plan": "free", "seats": 2},
                ]
            ),
        ).map(
            lambda p: {
                "events": {
                    k: v
                    for k, v in (("name", p[0]), ("within_days", p[1]), ("properties", p[4]))
                    if v is not None
                },
                "op": p[2],
                "value": p[3],
            }
        ),
        st.tuples(
            st.sampled_from(["count", "sum", "avg"]),
            st.none() | st.integers(1, 900),
            st.sampled_from(["gte", "lt", "gt"]),
            st.integers(0, 100_000),
            st.none() | st.sampled_from(PRODUCTS),
            st.none() | st.sampled_from(CATEGORIES),
        ).map(
            lambda p: {
                "orders": {"measure": p[0]}
                | ({} if p[1] is None else {"within_days": p[1]})
                | ({} if p[4] is None else {"product": p[4]})
                | ({} if p[5] is None else {"category": p[5]}),
                "op": p[2],
                "value": p[3] if p[0] != "count" else p[3] % 4,
            }
        ),
        st.tuples(
            st.sampled_from(["events", "orders"]),
            st.sampled_from(["first", "last"]),
            st.none() | st.sampled_from(EVENT_NAMES),
            st.none() | st.integers(1, 900),
            st.sampled_from(["eq", "lt", "gte", "within_days", "older_than_days", "between"]),
            st.integers(0, 900),
            st.integers(0, 60),
        ).map(_first_or_last),
        st.sampled_from([{"consent": "news"}, {"consent": "ads"}]),
        st.sampled_from([{"segment": key} for key in SAVED]),
    )


def _first_or_last(p: tuple[Any, ...]) -> dict[str, Any]:
    over, measure, name, window, op, days, width = p
    spec: dict[str, Any] = {"measure": measure}
    if over == "events" and name is not None:
        spec["name"] = name
    if window is not None:
        spec["within_days"] = window
    if op in ("within_days", "older_than_days"):
        value: Any = days
    elif op == "between":
        value = [
            (AS_OF - timedelta(days=days + width)).isoformat(),
            (AS_OF - timedelta(days=days)).isoformat(),
        ]
    else:
        value = (AS_OF - timedelta(days=days)).isoformat()
    return {over: spec, "op": op, "value": value}


trees = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(children, min_size=1, max_size=3).map(lambda c: {"any": c}),
        children.map(lambda c: {"not": c}),
    ),
    max_leaves=6,
)


# --- the plain evaluation -----------------------------------------------------------------------


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _compare(value: Any, op: str, target: Any) -> bool:
    if value is None:
        return False
    return {
        "eq": lambda: value == target,
        "ne": lambda: value != target,
        "lt": lambda: value < target,
        "lte": lambda: value <= target,
        "gt": lambda: value > target,
        "gte": lambda: value >= target,
        "between": lambda: target[0] <= value <= target[1],
        "in": lambda: value in target,
        "not_in": lambda: value not in target,
    }[op]()


def _evaluate(node: Node, p: dict[str, Any]) -> bool:
    if isinstance(node, Group):
        results = [_evaluate(child, p) for child in node.children]
        return all(results) if node.mode == "all" else any(results)
    if isinstance(node, Not):
        return not _evaluate(node.child, p)
    if isinstance(node, Consent):
        mine = [(c[2], k, c[1]) for k, c in enumerate(p["consents"]) if c[0] == node.purpose]
        if not mine:
            return False
        # latest by occurred_at (older = more days ago), then by recording order
        latest = max(mine, key=lambda m: (-m[0], m[1]))
        return latest[2] == "grant"
    if isinstance(node, Aggregate):
        if node.measure in ("first", "last"):
            moment = _aggregate(node, p)
            return moment is not None and _date_holds(_day(moment), node.op, node.value)
        return _compare(_aggregate(node, p), node.op, node.value)
    if isinstance(node, Membership):
        saved = parse_definition(SAVED[node.segment], attributes={}, purposes=frozenset())
        return _evaluate(saved, p)
    assert isinstance(node, Predicate)
    if node.source == "identity":
        present = p[node.name]
        return present if node.op == "not_empty" else not present
    if node.source == "score":
        score = p["score"]
        position = {"rfm_segment": 0, "rfm_r": 1, "churn_score": 2}[node.name]
        value = None if score is None else score[position]
    elif node.source == "attribute":
        value = p[node.name]
    else:
        value = p["row"][node.name]
    if node.kind == "date":
        value = _day(value)
        if node.op == "is_empty":
            return value is None
        if node.op == "not_empty":
            return value is not None
        return value is not None and _date_holds(value, node.op, node.value)
    if node.op == "is_empty":
        return value is None or value == ""
    if node.op == "not_empty":
        return value is not None and value != ""
    if node.op == "contains":
        return value is not None and node.value.lower() in value.lower()
    if node.op == "starts_with":
        return value is not None and value.lower().startswith(node.value.lower())
    return _compare(value, node.op, node.value)


def _date_holds(value: date, op: str, target: Any) -> bool:
    if op == "within_days":
        return value >= AS_OF - timedelta(days=target)
    if op == "older_than_days":
        return value < AS_OF - timedelta(days=target)
    return _compare(value, op, target)


def _same(stored: Any, wanted: Any) -> bool:
    """JSON equality: text is not a number, true is not 1."""
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return isinstance(wanted, bool) and isinstance(stored, bool) and stored == wanted
    if isinstance(wanted, str) or isinstance(stored, str):
        return stored == wanted
    return stored is not None and float(stored) == float(wanted)


def _aggregate(node: Aggregate, p: dict[str, Any]) -> Any:
    def recent(ago: int) -> bool:
        return node.within_days is None or (
            ago <= node.within_days
            and (
                NOON - timedelta(days=ago)
                >= datetime.combine(
                    AS_OF - timedelta(days=node.within_days), datetime.min.time(), UTC
                )
            )
        )

    if node.over == "events":
        times = [
            NOON - timedelta(days=ago)
            for name, ago, properties in p["events"]
            if (node.name is None or name == node.name)
            and recent(ago)
            and all(_same(properties.get(k), v) for k, v in node.properties)
        ]
        if node.measure in ("first", "last"):
            return (min if node.measure == "first" else max)(times, default=None)
        return len(times)
    if node.measure in ("first", "last"):
        moments = [
            NOON - timedelta(days=ago)
            for _, status, ago, items in p["orders"]
            if status == "completed"
            and recent(ago)
            and (node.product is None or any(product == node.product for _, product, _ in items))
            and (node.category is None or any(c == node.category for _, _, c in items))
        ]
        return (min if node.measure == "first" else max)(moments, default=None)
    kept = [
        amount
        for amount, status, ago, items in p["orders"]
        if status == "completed"
        and recent(ago)
        and (node.product is None or any(product == node.product for _, product, _ in items))
        and (node.category is None or any(c == node.category for _, _, c in items))
    ]
    if node.measure == "count":
        return len(kept)
    if node.measure == "sum":
        return sum(kept)
    return sum(kept) / len(kept) if kept else None


# --- the test -----------------------------------------------------------------------------------


def _prepare(store: Store) -> None:
    with store.unit_of_work() as uow:
        for key in ("news", "ads"):
            create_purpose(
                uow,
                {
                    "key": key,
                    "name": key,
                    "lawful_basis": "consent",
                    "data_categories": ["personal"],
                    "retention_days": 365,
                },
                actor=factories.actor(),
            )
        for key, kind in (
            ("tier", AttributeType.STRING),
            ("points", AttributeType.INTEGER),
            ("vip", AttributeType.BOOLEAN),
        ):
            define_attribute(
                uow,
                AttributeDefinition(
                    key=key,
                    type=kind,
                    category=Category.BEHAVIOURAL,
                    sensitivity=Sensitivity.PERSONAL,
                ),
                actor=factories.actor(),
            )
        for key, definition in SAVED.items():
            create_segment(
                uow, {"key": key, "name": key, "definition": definition}, actor=factories.actor()
            )
        uow.commit()


def test_sql_equals_the_plain_evaluation(store: Store) -> None:
    _prepare(store)

    @given(people=st.lists(person, min_size=1, max_size=8), tree=trees)
    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    def check(people: list[dict[str, Any]], tree: dict[str, Any]) -> None:
        stored = _store_people(store, people)
        ids = [p["row"]["id"] for p in stored]
        with store.unit_of_work(write=False) as uow:
            node = check_definition(uow, tree)
            selected = set(uow.segments.ids(compile_segment(node, as_of=AS_OF), within=ids))
            assert count_segment(uow, tree, as_of=AS_OF, within=ids) == len(selected)
        expected = {p["row"]["id"] for p in stored if _evaluate(node, p)}
        assert selected == expected, tree

    check()


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        (
            {
                "all": [
                    {"field": "country", "op": "eq", "value": "BR"},
                    {"field": "nope", "op": "eq"},
                ]
            },
            "definition.all[1].field",
        ),
        (
            {"any": [{"not": {"field": "quality_score", "op": "contains", "value": "x"}}]},
            "definition.any[0].not.op",
        ),
        ({"field": "birth_date", "op": "gt", "value": "yesterday"}, "definition.value"),
        ({"orders": {"measure": "max"}, "op": "gt", "value": 1}, "definition.orders.measure"),
        ({"consent": "unknown"}, "definition.consent"),
        ({"all": []}, "definition"),
    ],
)
def test_errors_name_the_node(store: Store, tree: dict[str, Any], path: str) -> None:
    _prepare(store)
    with store.unit_of_work(write=False) as uow, pytest.raises(ValidationFailed) as caught:
        check_definition(uow, tree)
    assert caught.value.errors[0].field == path


def test_first_and_last_are_the_earliest_and_latest(store: Store) -> None:
    """Explicit cases beside the random ones: a person with an old and a recent event and
    order, where first and last disagree."""
    _prepare(store)
    base = _plain_person(
        country="BR",
        created_days=1,
        events=[("Viewed", 10, {}), ("Viewed", 100, {"plan": "pro"})],
        orders=[(1000, "completed", 5, []), (2000, "completed", 200, [])],
    )
    [person] = _store_people(store, [base])
    cases = {
        ("events", "first", "older_than_days", 50): True,
        ("events", "last", "older_than_days", 50): False,
        ("events", "last", "within_days", 20): True,
        ("orders", "first", "within_days", 20): False,
        ("orders", "last", "within_days", 20): True,
    }
    for (over, measure, op, days), expected in cases.items():
        tree = {over: {"measure": measure}, "op": op, "value": days}
        with store.unit_of_work(write=False) as uow:
            node = check_definition(uow, tree)
            found = uow.segments.ids(
                compile_segment(node, as_of=AS_OF), within=[person["row"]["id"]]
            )
        assert bool(found) is expected is _evaluate(node, person), tree


def test_sqlite_scans_people_once_and_reads_each_ones_rows_from_the_covering_index(
    sqlite_store: Store,
) -> None:
    """The plan, not a timing: the profile conditions test each row of one scan (no index
    range then a fetch per row), orders are looked up before events (fewer per person), both
    through the (customer, time) covering indexes rather than a grouping of the window."""
    _prepare(sqlite_store)
    tree = {
        "all": [
            {"events": {"within_days": 90}, "op": "gte", "value": 2},
            {"field": "country", "op": "in", "value": ["BR", "PT"]},
            {"orders": {"measure": "sum", "within_days": 365}, "op": "gt", "value": 10_000},
            {"field": "created_at", "op": "within_days", "value": 900},
        ]
    }

    def count() -> None:
        with sqlite_store.unit_of_work(write=False) as uow:
            assert count_segment(uow, tree, as_of=AS_OF) == 0

    statement, parameters = plans.captured(sqlite_store, "SELECT COUNT(*)", count)
    with sqlite_store.engine.connect() as connection:
        plan = [
            str(row[3])
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        ]
    searches = [step for step in plan if step.startswith("SEARCH")]
    assert "SCAN customers" in plan, plan
    assert searches == [
        "SEARCH transactions USING COVERING INDEX ix_transactions_customer_occurred "
        "(customer_id=? AND occurred_at>? AND occurred_at<?)",
        "SEARCH events USING COVERING INDEX ix_events_customer_occurred "
        "(customer_id=? AND occurred_at>? AND occurred_at<?)",
    ], plan


def _counted_plan(store: Store, tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of the executed plan (EXPLAIN ANALYZE) of ``tree``'s count."""

    def count() -> None:
        with store.unit_of_work(write=False) as uow:
            count_segment(uow, tree, as_of=AS_OF)

    return plans.executed_plan(store, *plans.captured(store, "SELECT COUNT(*)", count))


def _plain_person(**fields: Any) -> dict[str, Any]:
    """A person as the ``person`` strategy draws one: nothing but ``fields``."""
    return {
        "country": None,
        "city": None,
        "household_size": None,
        "quality_score": None,
        "birth_days": None,
        "created_days": 10,
        "tier": None,
        "points": None,
        "vip": None,
        "email": False,
        "phone": False,
        "score": None,
        "events": [],
        "orders": [],
        "consents": [],
    } | fields


def _someone(country: str, orders: int, events: int) -> dict[str, Any]:
    return _plain_person(
        country=country,
        events=[("Viewed", 5, {})] * events,
        orders=[(20_000, "completed", 5, [])] * orders,
    )


def test_postgresql_looks_up_rows_only_for_the_people_left_in_the_order_chosen(
    postgres_store: Store,
) -> None:
    """The plan, not a timing: behind a profile condition, a person's orders are read for each
    person it left (a look-up each, not a grouping of every order) and their events only for
    those whose orders also held — PostgreSQL, left to itself, reads events first. Alone, an
    aggregate condition groups its rows once (a hashed subplan), as a look-up for every
    person would cost more."""
    _prepare(postgres_store)
    people = [_someone("BR", orders=1, events=2) for _ in range(3)]
    people += [_someone("BR", orders=0, events=2) for _ in range(4)]
    people += [_someone("US", orders=1, events=2) for _ in range(5)]
    _store_people(postgres_store, people)
    tree = {
        "all": [
            {"events": {"within_days": 90}, "op": "gte", "value": 2},
            {"field": "country", "op": "eq", "value": "BR"},
            {"orders": {"measure": "sum", "within_days": 365}, "op": "gt", "value": 10_000},
        ]
    }
    nodes = _counted_plan(postgres_store, tree)
    lookups = {
        node["Relation Name"]: node["Actual Loops"]
        for node in nodes
        if node.get("Relation Name") in ("events", "transactions")
    }
    assert lookups == {"transactions": 7, "events": 3}, lookups
    assert not [
        node for node in nodes if node["Node Type"] == "Aggregate" and node.get("Group Key")
    ]

    alone = _counted_plan(postgres_store, tree | {"all": tree["all"][:1]})
    grouped = [node for node in alone if node.get("Group Key")]
    assert [node["Group Key"] for node in grouped] == [["events.customer_id"]], alone
    assert {node["Actual Loops"] for node in alone if node.get("Relation Name") == "events"} == {1}


def test_an_any_of_look_ups_stays_within_the_people_asked_about(store: Store) -> None:
    """``any`` of two per-person look-ups is one term of the query's AND, not two: written
    bare, ``… AND a OR b AND id IN (…)`` selected people outside ``within``."""
    _prepare(store)
    stored = _store_people(store, [_plain_person(events=[("Viewed", 5, {})]) for _ in range(3)])
    ids = [p["row"]["id"] for p in stored]
    tree = {
        "any": [
            {"events": {}, "op": "gte", "value": 0},
            {"orders": {"measure": "count"}, "op": "gte", "value": 0},
        ]
    }
    with store.unit_of_work(write=False) as uow:
        node = check_definition(uow, tree)
        selected = uow.segments.ids(compile_segment(node, as_of=AS_OF), within=ids[:1])
        assert selected == ids[:1]
        assert count_segment(uow, tree, as_of=AS_OF, within=ids[:1]) == 1
