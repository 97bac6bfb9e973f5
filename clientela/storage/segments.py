# mypy: disable-error-code="no-any-return"
# (SQLAlchemy types comparisons with an untyped operand as Any; every return here is a condition)
"""Segment definitions compiled to SQL: one boolean expression over ``customers``, every value
a bound parameter (never spliced into the statement), correlated subqueries for identities,
scores, events, orders and consent.

Each condition is wrapped in COALESCE(…, false): a condition on an empty value is false, and
``not`` of it is true — two-valued logic, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)

from clientela.domain.segments import Aggregate, Consent, Group, Node, Not, Predicate
from clientela.storage.repositories._base import Repository
from clientela.storage.tables import (
    consent_events,
    customer_scores,
    customers,
    events,
    identities,
    purposes,
    transactions,
)

__all__ = ["SegmentRepository", "compile_segment"]

_DATETIME_COLUMNS = frozenset(
    {"created_at", "first_seen_at", "last_seen_at", "first_order_at", "last_order_at"}
)


def compile_segment(node: Node, *, as_of: date) -> ColumnElement[bool]:
    if isinstance(node, Group):
        parts = [compile_segment(child, as_of=as_of) for child in node.children]
        return and_(*parts) if node.mode == "all" else or_(*parts)
    if isinstance(node, Not):
        return not_(compile_segment(node.child, as_of=as_of))
    if isinstance(node, Consent):
        return func.coalesce(_consent(node.purpose) == "grant", false())
    if isinstance(node, Aggregate):
        return func.coalesce(_compare(_aggregate(node, as_of), node.op, node.value), false())
    return func.coalesce(_predicate(node, as_of), false())


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _predicate(node: Predicate, as_of: date) -> ColumnElement[bool]:
    if node.source == "identity":
        present = exists(
            select(identities.c.id).where(
                identities.c.customer_id == customers.c.id, identities.c.kind == node.name
            )
        )
        return present if node.op == "not_empty" else not_(present)
    column: ColumnElement[Any]
    if node.source == "field":
        column = customers.c[node.name]
    elif node.source == "score":
        column = (
            select(customer_scores.c[node.name])
            .where(customer_scores.c.customer_id == customers.c.id)
            .scalar_subquery()
        )
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
        return column.is_(None) | (column == "") if node.kind == "text" else column.is_(None)
    if node.op == "not_empty":
        return column.is_not(None) & (column != "") if node.kind == "text" else column.is_not(None)
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


def _aggregate(node: Aggregate, as_of: date) -> Any:
    since = _midnight(as_of - timedelta(days=node.within_days)) if node.within_days else None
    until = _midnight(as_of + timedelta(days=1))
    if node.over == "events":
        query = select(func.count()).where(
            events.c.customer_id == customers.c.id, events.c.occurred_at < until
        )
        if node.name is not None:
            query = query.where(events.c.name == node.name)
        if since is not None:
            query = query.where(events.c.occurred_at >= since)
        return query.scalar_subquery()
    measure = (
        func.count()
        if node.measure == "count"
        else func.coalesce(func.sum(transactions.c.amount_minor - transactions.c.refunded_minor), 0)
    )
    query = select(measure).where(
        transactions.c.customer_id == customers.c.id,
        transactions.c.status.in_(("completed", "partially_refunded")),
        transactions.c.occurred_at < until,
    )
    if since is not None:
        query = query.where(transactions.c.occurred_at >= since)
    return query.scalar_subquery()


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


class SegmentRepository(Repository):
    def count(self, condition: ColumnElement[bool], *, within: list[str] | None = None) -> int:
        query = (
            select(func.count())
            .select_from(customers)
            .where(customers.c.status == "active", condition)
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
