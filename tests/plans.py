"""The plans of the statements code runs: for tests that pin a plan, not a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event

from clientela.storage.store import Store


def captured(store: Store, starts_with: str, run: Callable[[], object]) -> tuple[str, Any]:
    """The one statement beginning with ``starts_with`` that ``run`` executes, and its
    parameters."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(starts_with.upper()):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    [found] = statements
    return found


def executed_plan(store: Store, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """The nodes of PostgreSQL's executed plan (EXPLAIN ANALYZE) of a statement; what it
    changed is rolled back."""
    with store.engine.connect() as connection:
        [[explained]] = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
        ).all()
        connection.rollback()
    return list(_nodes(explained[0]["Plan"]))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)
