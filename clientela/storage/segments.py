# mypy: disable-error-code="no-any-return"
# (SQLAlchemy types comparisons with an untyped operand as Any; every return here is a condition)
"""Segment definitions compiled to SQL: one boolean expression over ``customers``, every value
a bound parameter (never spliced into the statement), correlated subqueries for identities,
scores, events, orders and consent.

Each condition is wrapped in COALESCE(…, false): a condition on an empty value is false, and
``not`` of it is true — two-valued logic, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.compiler import compiles

from clientela.domain.segments import Aggregate, Consent, Group, Membership, Node, Not, Predicate
from clientela.storage.repositories._base import (
    Repository,
    as_dict,
    translate_integrity_errors,
)
from clientela.storage.tables import (
    consent_events,
    customer_scores,
    customers,
    events,
    identities,
    purposes,
    segment_memberships,
    segments,
    transactions,
)
from clientela.storage.types import UTCDateTime

__all__ = ["SegmentRepository", "compile_segment"]

_WORK_MEM = "256MB"
_PER_PERSON = 2  # the cost from which a condition reads the person's own rows (orders, events)
_DATETIME_COLUMNS = frozenset(
    {"created_at", "first_seen_at", "last_seen_at", "first_order_at", "last_order_at"}
)


def compile_segment(node: Node, *, as_of: date) -> ColumnElement[bool]:
    return _compile(node, as_of, narrowed=False)


def _compile(node: Node, as_of: date, *, narrowed: bool) -> ColumnElement[bool]:
    """``narrowed``: cheaper conditions before this one have already ruled most people out, so
    it is tested for the survivors only (see ``_aggregate_condition``)."""
    if isinstance(node, Group):
        # cheapest first: SQLite tests the terms in the order written and stops at the first
        # that decides (two-valued logic makes the order free to choose)
        children = sorted(node.children, key=_cost)
        parts = [
            _compile(child, as_of, narrowed=narrowed or (node.mode == "all" and index > 0))
            for index, child in enumerate(children)
        ]
        join = and_ if node.mode == "all" else or_
        # the look-ups of a person's rows keep the order chosen here; the rest are the
        # planner's to order (and to answer from an index)
        first = next((i for i, c in enumerate(children) if _cost(c) >= _PER_PERSON), len(parts))
        if len(parts) - first < 2:
            return join(*parts)
        return join(*parts[:first], InOrder(node.mode, parts[first:]))
    if isinstance(node, Not):
        return not_(_compile(node.child, as_of, narrowed=narrowed))
    if isinstance(node, Consent):
        return func.coalesce(_consent(node.purpose) == "grant", false())
    if isinstance(node, Membership):
        return _member_of(node.segment)
    if isinstance(node, Aggregate):
        return _aggregate_condition(node, as_of, narrowed=narrowed)
    if node.source == "identity":
        return _identity_condition(node)
    if node.source == "score":
        return _score_condition(node, as_of)
    return func.coalesce(_predicate(node, as_of), false())


class InOrder(ColumnElement[bool]):
    """``all`` / ``any`` of conditions tested in the order given, each only when the ones
    before have not decided. SQLite does so with AND / OR already; PostgreSQL orders the terms
    of an AND by its own cost estimates — which put a person's events (many rows, each cheap to
    read) before their orders, a look-up for every profile that passed rather than for the few
    who also passed the orders — so there it is a CASE, which its manual guarantees to
    evaluate in order."""

    inherit_cache = False
    type = Boolean()
    _is_implicitly_boolean = True  # a condition already, not a value to compare with true

    def __init__(self, mode: str, parts: list[ColumnElement[bool]]) -> None:
        self.mode = mode
        self.parts = parts


@compiles(InOrder)
def _in_order(element: InOrder, compiler: Any, **kw: Any) -> str:
    *before, sql = [compiler.process(part, **kw) for part in element.parts]
    for condition in reversed(before):
        if element.mode == "all":
            sql = f"CASE WHEN {condition} THEN {sql} ELSE false END"
        else:
            sql = f"CASE WHEN {condition} THEN true ELSE {sql} END"
    return f"({sql})"


@compiles(InOrder, "sqlite")
def _in_order_sqlite(element: InOrder, compiler: Any, **kw: Any) -> str:
    join = and_ if element.mode == "all" else or_
    return f"({compiler.process(join(*element.parts), **kw)})"  # one term where it stands


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _cost(node: Node) -> int:
    """A rough rank of what testing ``node`` costs for one person: a column of the row, a
    look-up in a small table, a person's orders (a few), a person's events (many)."""
    if isinstance(node, Predicate):
        return 0 if node.source in ("field", "attribute") else 1
    if isinstance(node, Aggregate):
        return 2 if node.over == "orders" else 3
    if isinstance(node, Not):
        return _cost(node.child)
    if isinstance(node, Group):
        return max((_cost(child) for child in node.children), default=0)
    return 1  # consent, membership


# Conditions on other tables are ``customers.id IN (one uncorrelated subquery)``: computed once
# (a semi-join or a hashed subplan), not once per customer as a correlated subquery would be —
# PostgreSQL cannot decorrelate scalar subqueries. The subqueries never yield NULL, so IN is
# two-valued and needs no COALESCE (which would hide it from the planner). Aggregates over
# events and orders are the exception (see ``_aggregate_condition``).


def _identity_condition(node: Predicate) -> ColumnElement[bool]:
    present = customers.c.id.in_(
        select(identities.c.customer_id).where(identities.c.kind == node.name)
    )
    return present if node.op == "not_empty" else not_(present)


def _score_condition(node: Predicate, as_of: date) -> ColumnElement[bool]:
    """A person without a scores row has every score empty."""
    if node.op == "is_empty":
        filled = _predicate(Predicate(node.source, node.name, node.kind, "not_empty"), as_of)
        return not_(customers.c.id.in_(select(customer_scores.c.customer_id).where(filled)))
    return customers.c.id.in_(
        select(customer_scores.c.customer_id).where(func.coalesce(_predicate(node, as_of), false()))
    )


def _predicate(node: Predicate, as_of: date) -> ColumnElement[bool]:
    column: ColumnElement[Any]
    if node.source == "field":
        column = Unindexed(customers.c[node.name])
    elif node.source == "score":
        column = customer_scores.c[node.name]
    else:
        item = customers.c.attributes[node.name]
        column = {
            "number": item.as_float(),
            "boolean": item.as_boolean(),
        }.get(node.kind, item.as_string())
    is_datetime = node.source == "field" and node.name in _DATETIME_COLUMNS
    value = node.value
    if node.kind == "date":
        return _date_condition(column, node.op, value, as_of, is_datetime, node.source)
    if node.op == "is_empty":
        return (
            column.is_(None) | (column == "")
            if node.kind in ("text", "sealed")
            else column.is_(None)
        )
    if node.op == "not_empty":
        return (
            column.is_not(None) & (column != "")
            if node.kind in ("text", "sealed")
            else column.is_not(None)
        )
    if node.op == "contains":
        return func.lower(column).contains(value.lower(), autoescape=True)
    if node.op == "starts_with":
        return func.lower(column).startswith(value.lower(), autoescape=True)
    return _compare(column, node.op, value)


def _date_condition(
    column: ColumnElement[Any], op: str, value: Any, as_of: date, is_datetime: bool, source: str
) -> ColumnElement[bool]:
    if source == "attribute":
        # stored as ISO text: compare as text (dates sort as strings)
        def bound(day: date) -> Any:
            return day.isoformat()
    elif is_datetime:
        bound = _midnight
    else:

        def bound(day: date) -> Any:
            return day

    if op == "is_empty":
        return column.is_(None)
    if op == "not_empty":
        return column.is_not(None)
    if op == "within_days":
        return column >= bound(as_of - timedelta(days=value))
    if op == "older_than_days":
        return column < bound(as_of - timedelta(days=value))
    if is_datetime:
        # a day is the half-open range of its instants
        if op == "eq":
            return (column >= bound(value)) & (column < bound(value + timedelta(days=1)))
        if op == "ne":
            return (column < bound(value)) | (column >= bound(value + timedelta(days=1)))
        if op == "lte":
            return column < bound(value + timedelta(days=1))
        if op == "gt":
            return column >= bound(value + timedelta(days=1))
        if op == "between":
            return (column >= bound(value[0])) & (column < bound(value[1] + timedelta(days=1)))
    if op == "between":
        return column.between(bound(value[0]), bound(value[1]))
    return _compare(column, op, bound(value))


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "eq":
        return column == value
    if op == "ne":
        return column != value
    if op == "lt":
        return column < value
    if op == "lte":
        return column <= value
    if op == "gt":
        return column > value
    if op == "gte":
        return column >= value
    if op == "between":
        return column.between(value[0], value[1])
    if op == "in":
        return column.in_(list(value))
    if op == "not_in":
        return column.not_in(list(value))
    raise ValueError(f"unknown operator {op}")


def _aggregate_condition(node: Aggregate, as_of: date, *, narrowed: bool) -> ColumnElement[bool]:
    """The person's own rows, read from the (customer, time) covering index — for the people
    left once cheaper conditions have held, a look-up each is far cheaper than grouping every
    row of the window (at 1M people and 10M events 2-3 s on SQLite, 3-5 s on PostgreSQL, against
    well under one). PostgreSQL, when nothing has narrowed the people down, finds them with one
    GROUP BY … HAVING (a hashed subplan): a million look-ups cost more than one grouping.
    SQLite looks up always: it has no hashed subplan and its grouping is the slower."""
    per_person = _aggregate_per_person(node, as_of)
    if narrowed:
        return per_person
    return ByDialect(sqlite=per_person, other=_aggregate_grouped(node, as_of))


def _aggregate_per_person(node: Aggregate, as_of: date) -> ColumnElement[bool]:
    owner, measure, rows = _aggregate(node, as_of)
    value = rows.with_only_columns(measure).where(owner == customers.c.id).scalar_subquery()
    if node.measure in ("first", "last"):  # no rows, no time: never held
        held = _date_condition(value, node.op, node.value, as_of, True, "field")
        return func.coalesce(value.is_not(None) & held, false())
    return func.coalesce(_compare(value, node.op, node.value), false())


def _aggregate_grouped(node: Aggregate, as_of: date) -> ColumnElement[bool]:
    """People whose rows satisfy the comparison. When the comparison also holds for someone
    with no rows (``count < 3``, ``sum = 0``), the people are everyone except those whose rows
    fail it."""
    owner, measure, rows = _aggregate(node, as_of)
    if node.measure in ("first", "last"):  # no rows, no time: never held
        held = _date_condition(measure, node.op, node.value, as_of, True, "field")
        return customers.c.id.in_(rows.group_by(owner).having(func.coalesce(held, false())))
    at_zero = node.measure in ("count", "sum") and _python_compare(0, node.op, node.value)
    held = func.coalesce(_compare(measure, node.op, node.value), false())
    if not at_zero:
        return customers.c.id.in_(rows.group_by(owner).having(held))
    return not_(customers.c.id.in_(rows.group_by(owner).having(not_(held))))


def _python_compare(left: float, op: str, right: Any) -> bool:
    return {
        "eq": left == right,
        "ne": left != right,
        "lt": left < right,
        "lte": left <= right,
        "gt": left > right,
        "gte": left >= right,
    }[op]


def _measure(measure: str, moment: ColumnElement[Any], net: Any) -> Any:
    if measure == "count":
        return func.count()
    if measure == "sum":
        return func.coalesce(func.sum(net), 0)
    if measure == "avg":
        return func.avg(net)  # no orders: no average, so the condition is false
    return func.min(moment) if measure == "first" else func.max(moment)


def _aggregate(node: Aggregate, as_of: date) -> tuple[ColumnElement[Any], Any, Any]:
    """(the owner column, the measure, the query over the rows that count)."""
    since = _midnight(as_of - timedelta(days=node.within_days)) if node.within_days else None
    until = _midnight(as_of + timedelta(days=1))
    if node.over == "events":
        query = select(events.c.customer_id).where(
            events.c.customer_id.is_not(None), events.c.occurred_at < until
        )
        if node.name is not None:
            query = query.where(events.c.name == node.name)
        for key, value in node.properties:
            query = query.where(JsonHas(events.c.properties, key, value))
        if since is not None:
            query = query.where(events.c.occurred_at >= since)
        return events.c.customer_id, _measure(node.measure, events.c.occurred_at, None), query
    net = transactions.c.amount_minor - transactions.c.refunded_minor
    measure = _measure(node.measure, transactions.c.occurred_at, net)
    query = select(transactions.c.customer_id).where(
        transactions.c.status.in_(("completed", "partially_refunded")),
        transactions.c.occurred_at < until,
    )
    if node.product is not None:
        query = query.where(
            or_(
                ItemsInclude(transactions.c["items"], "product_id", node.product),
                ItemsInclude(transactions.c["items"], "sku", node.product),
            )
        )
    if node.category is not None:
        query = query.where(ItemsInclude(transactions.c["items"], "category", node.category))
    if since is not None:
        query = query.where(transactions.c.occurred_at >= since)
    return transactions.c.customer_id, measure, query


def _consent(purpose: str) -> Any:
    return (
        select(consent_events.c.action)
        .where(
            consent_events.c.customer_id == customers.c.id,
            consent_events.c.purpose_id
            == select(purposes.c.id).where(purposes.c.key == purpose).scalar_subquery(),
        )
        .order_by(
            consent_events.c.occurred_at.desc(),
            consent_events.c.recorded_at.desc(),
            consent_events.c.id.desc(),
        )
        .limit(1)
        .scalar_subquery()
    )


def _member_of(key: str) -> ColumnElement[bool]:
    return customers.c.id.in_(
        select(segment_memberships.c.customer_id).where(
            segment_memberships.c.segment_id
            == select(segments.c.id).where(segments.c.key == key).scalar_subquery(),
            segment_memberships.c.exited_at.is_(None),
        )
    )


class ByDialect(ColumnElement[bool]):
    """One condition written two ways, for SQLite's planner and for PostgreSQL's."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, *, sqlite: ColumnElement[bool], other: ColumnElement[bool]) -> None:
        self.sqlite = sqlite
        self.other = other


@compiles(ByDialect)
def _by_dialect(element: ByDialect, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.other, **kw)


@compiles(ByDialect, "sqlite")
def _by_dialect_sqlite(element: ByDialect, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.sqlite, **kw)


class Unindexed(ColumnElement[Any]):
    """A column of ``customers`` SQLite may test but not search an index on (``+column``).

    Segment conditions on profile fields are mostly broad (a country, a score band, signed up
    within 900 days). Without histograms SQLite takes any index on them, then fetches a
    quarter of the table row by row: 1.2 s at a million people against 0.3 s for reading the
    table through. A scan's cost is bounded; a wrong index's is not. PostgreSQL keeps its
    own (statistics-based) choice.
    """

    inherit_cache = False

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(Unindexed)
def _unindexed(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(Unindexed, "sqlite")
def _unindexed_sqlite(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


class JsonHas(ColumnElement[bool]):
    """``document[key]`` equals ``value``, JSON type included (``"1"`` is not ``1``).

    PostgreSQL: JSONB containment (``@>``, index-friendly); SQLite: ``json_type`` and
    ``json_extract`` with the path bound as a parameter, never spliced.
    """

    inherit_cache = False  # the values shape the SQL; statements with them are not cached
    type = Boolean()

    def __init__(self, document: ColumnElement[Any], key: str, value: Any) -> None:
        self.document = document
        self.property_key = key
        self.value = value


@compiles(JsonHas, "postgresql")
def _json_has_postgresql(element: JsonHas, compiler: Any, **kw: Any) -> str:
    document = compiler.process(element.document, **kw)
    wanted = compiler.process(
        bindparam(None, json.dumps({element.property_key: element.value}), type_=String), **kw
    )
    return f"({document} @> CAST({wanted} AS JSONB))"


@compiles(JsonHas)
def _json_has_sqlite(element: JsonHas, compiler: Any, **kw: Any) -> str:
    document = compiler.process(element.document, **kw)
    path = compiler.process(bindparam(None, _json_path(element.property_key), type_=String), **kw)
    value = element.value
    if isinstance(value, bool):
        kind = compiler.process(bindparam(None, "true" if value else "false"), **kw)
        return f"(json_type({document}, {path}) = {kind})"
    kinds = "('text')" if isinstance(value, str) else "('integer', 'real')"
    bound = compiler.process(bindparam(None, value), **kw)
    return (
        f"(json_type({document}, {path}) IN {kinds} AND json_extract({document}, {path}) = {bound})"
    )


def _json_path(key: str) -> str:
    # keys are checked by the domain (no quotes or backslashes); quoting keeps dots literal
    return f'$."{key}"'


class ItemsInclude(ColumnElement[bool]):
    """An order's ``items`` list has an element whose ``field`` equals ``value`` (text)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, items: ColumnElement[Any], field: str, value: str) -> None:
        assert field in ("product_id", "sku", "category")  # names from code, never from input
        self.items = items
        self.field = field
        self.value = value


@compiles(ItemsInclude, "postgresql")
def _items_include_postgresql(element: ItemsInclude, compiler: Any, **kw: Any) -> str:
    items = compiler.process(element.items, **kw)
    wanted = compiler.process(
        bindparam(None, json.dumps([{element.field: element.value}]), type_=String), **kw
    )
    return f"({items} @> CAST({wanted} AS JSONB))"


@compiles(ItemsInclude)
def _items_include_sqlite(element: ItemsInclude, compiler: Any, **kw: Any) -> str:
    items = compiler.process(element.items, **kw)
    value = compiler.process(bindparam(None, element.value, type_=String), **kw)
    return (  # the field name comes from code (checked above), the value is bound
        f"EXISTS (SELECT 1 FROM json_each({items}) AS item"  # noqa: S608
        f" WHERE json_type(item.value, '$.{element.field}') = 'text'"
        f" AND json_extract(item.value, '$.{element.field}') = {value})"
    )


class SegmentRepository(Repository):
    def _analytic(self) -> None:
        """Room for the hash tables of the IN subqueries (PostgreSQL falls back to scanning
        the subquery's rows once per customer when a hashed subplan exceeds work_mem). No JIT:
        a segment's cost is in index look-ups, which compiling the expressions does not speed
        up, and the compiling itself took 0.3 s of a 2.6 s count."""
        if self.dialect == "postgresql":
            self.connection.execute(text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))
            self.connection.execute(text("SET LOCAL jit = off"))

    def count(self, condition: ColumnElement[bool], *, within: list[str] | None = None) -> int:
        self._analytic()
        query = (
            select(func.count())
            .select_from(customers)
            .where(Unindexed(customers.c.status) == "active", condition)
        )
        if within is not None:
            query = query.where(customers.c.id.in_(within))
        return int(self.connection.execute(query).scalar_one())

    def ids(
        self,
        condition: ColumnElement[bool],
        *,
        within: list[str] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        self._analytic()
        query = (
            select(customers.c.id)
            .where(customers.c.status == "active", condition)
            .order_by(customers.c.id)
        )
        if within is not None:
            query = query.where(customers.c.id.in_(within))
        if limit is not None:
            query = query.limit(limit)
        return [str(row[0]) for row in self.connection.execute(query).all()]

    # --- saved segments ---------------------------------------------------------------------

    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(segments), dict(row))

    def get_by_key(self, key: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(segments).where(segments.c.key == key)
        if lock:
            query = query.with_for_update()  # PostgreSQL; SQLite's write lock serialises anyway
        return as_dict(self.connection.execute(query).mappings().first())

    def saved(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(segments).order_by(segments.c.key))
        return [dict(row) for row in rows.mappings()]

    def keys(self) -> frozenset[str]:
        return frozenset(str(k) for k in self.connection.execute(select(segments.c.key)).scalars())

    def update(self, segment_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(segments).where(segments.c.id == segment_id).values(**values)
        )

    def delete(self, segment_id: str) -> None:
        self.connection.execute(delete(segments).where(segments.c.id == segment_id))

    def materialise(
        self, segment_id: str, condition: ColumnElement[bool], now: datetime
    ) -> tuple[int, int, int]:
        """Bring the open memberships in line with ``condition``: close the stays of people
        it no longer selects, open one for each person it newly selects. Two set-based
        statements; returns (entered, exited, members)."""
        self._analytic()
        stays = segment_memberships
        selected = (
            select(customers.c.id)
            .where(customers.c.id == stays.c.customer_id, customers.c.status == "active")
            .where(condition)
        )
        exited = self.connection.execute(
            update(stays)
            .where(
                stays.c.segment_id == segment_id,
                stays.c.exited_at.is_(None),
                ~exists(selected),
            )
            .values(exited_at=now)
        ).rowcount
        already = select(stays.c.id).where(
            stays.c.segment_id == segment_id,
            stays.c.customer_id == customers.c.id,
            stays.c.exited_at.is_(None),
        )
        entering = select(
            literal(segment_id, String), customers.c.id, literal(now, UTCDateTime())
        ).where(Unindexed(customers.c.status) == "active", condition, ~exists(already))
        stayed = self._open_count(segment_id)
        self.connection.execute(
            insert(stays).from_select(["segment_id", "customer_id", "entered_at"], entering)
        )
        # INSERT … SELECT has no portable row count (psycopg reports -1): count the open stays
        members = self._open_count(segment_id)
        return members - stayed, int(exited), members

    def _open_count(self, segment_id: str) -> int:
        stays = segment_memberships
        query = (
            select(func.count())
            .select_from(stays)
            .where(stays.c.segment_id == segment_id, stays.c.exited_at.is_(None))
        )
        return int(self.connection.execute(query).scalar_one())

    def member_ids(
        self, segment_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Current members by id (``after``: keyset pagination)."""
        stays = segment_memberships
        query = (
            select(stays.c.customer_id)
            .where(stays.c.segment_id == segment_id, stays.c.exited_at.is_(None))
            .order_by(stays.c.customer_id)
        )
        if after is not None:
            query = query.where(stays.c.customer_id > after)
        if limit is not None:
            query = query.limit(limit)
        return [str(v) for v in self.connection.execute(query).scalars()]

    def changes(
        self,
        segment_id: str,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        after: tuple[datetime, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Entries and exits between ``since`` (inclusive) and ``until`` (exclusive), oldest
        first: {customer_id, change, at, stay}. ``after``: keyset pagination on (at, stay)."""
        stays = segment_memberships
        moves = []
        for change, column in (("entered", stays.c.entered_at), ("exited", stays.c.exited_at)):
            moves.append(
                select(
                    stays.c.customer_id,
                    literal(change, String).label("change"),
                    column.label("at"),
                    stays.c.id.label("stay"),
                ).where(stays.c.segment_id == segment_id, column >= since, column < until)
            )
        moved = union_all(*moves).subquery()
        query = select(moved).order_by(moved.c.at, moved.c.stay, moved.c.change).limit(limit)
        if after is not None:
            query = query.where(
                or_(moved.c.at > after[0], and_(moved.c.at == after[0], moved.c.stay > after[1]))
            )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def memberships_of(self, customer_id: str) -> list[dict[str, Any]]:
        """A person's stays in saved segments, current first: {key, name, entered_at,
        exited_at}."""
        stays = segment_memberships
        query = (
            select(segments.c.key, segments.c.name, stays.c.entered_at, stays.c.exited_at)
            .join(segments, segments.c.id == stays.c.segment_id)
            .where(stays.c.customer_id == customer_id)
            .order_by(stays.c.exited_at.is_not(None), stays.c.entered_at.desc())
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def due(self, now: datetime) -> list[dict[str, Any]]:
        """Saved segments with a refresh interval whose last materialisation is older."""
        rows = self.connection.execute(
            select(segments).where(segments.c.refresh_minutes.is_not(None))
        ).mappings()
        return [
            dict(row)
            for row in rows
            if row["materialised_at"] is None
            or row["materialised_at"] + timedelta(minutes=row["refresh_minutes"]) <= now
        ]
