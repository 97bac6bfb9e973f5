"""Bulk creation pipeline: validate the next chunk in worker processes while this one is written.

Validation (e-mail, phone, CPF parsing) is CPU-bound Python; writing is one SQLite writer. On a
two-core machine running them side by side nearly doubles throughput. Each chunk is its own
transaction, so an interrupted run keeps every committed chunk and can be re-run (identities make
it idempotent: rows already stored come back as ``identity_taken``).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from clientela.attributes.service import registry as attribute_registry
from clientela.customers.service import (
    BulkResult,
    CheckedRecord,
    RowRejection,
    check_records,
    create_customers,
    validation_context,
)
from clientela.domain.actor import Actor
from clientela.domain.attributes import AttributeDefinition
from clientela.domain.errors import FieldError
from clientela.domain.fields import ProfileChanges, ValidationContext
from clientela.domain.identity import IdentityKey
from clientela.settings import Settings
from clientela.storage.store import Store

__all__ = ["create_in_chunks"]


#: What crosses the process boundary: plain tuples pickle ten times faster than dataclasses.
_Plain = tuple[
    dict[str, Any] | None, dict[str, Any] | None, list[tuple[str, str]], list[tuple[str, str, str]]
]


def _check_plain(
    chunk: Sequence[Mapping[str, Any]],
    context: ValidationContext,
    registry: Mapping[str, AttributeDefinition],
) -> list[_Plain]:
    return [
        (
            item.changes.fields if item.changes else None,
            item.changes.attributes if item.changes else None,
            [(key.kind, key.value) for key in item.keys],
            [(error.field, error.message, error.code) for error in item.errors],
        )
        for item in check_records(chunk, context, registry)
    ]


def _from_plain(plain: list[_Plain]) -> list[CheckedRecord]:
    return [
        CheckedRecord(
            None if fields is None else ProfileChanges(fields, attributes or {}),
            tuple(IdentityKey(kind, value) for kind, value in keys),
            tuple(FieldError(*error) for error in errors),
        )
        for fields, attributes, keys, errors in plain
    ]


def _chunks(records: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def checked_chunks(
    records: Iterable[Mapping[str, Any]],
    context: ValidationContext,
    registry: Mapping[str, AttributeDefinition],
    *,
    chunk_size: int,
    workers: int,
) -> Iterator[tuple[list[Mapping[str, Any]], list[CheckedRecord]]]:
    """Chunks of records with their validation, in order; with ``workers`` > 1 the next chunks
    are validated in worker processes while the caller writes the current one."""
    if workers <= 1:
        for chunk in _chunks(records, chunk_size):
            yield chunk, check_records(chunk, context, registry)
        return
    spawn = multiprocessing.get_context("spawn")  # no inherited connections or threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        pending: deque[tuple[list[Mapping[str, Any]], Future[list[_Plain]]]] = deque()
        for chunk in _chunks(records, chunk_size):
            pending.append((chunk, pool.submit(_check_plain, chunk, context, registry)))
            if len(pending) > workers:
                done_chunk, future = pending.popleft()
                yield done_chunk, _from_plain(future.result())
        while pending:
            done_chunk, future = pending.popleft()
            yield done_chunk, _from_plain(future.result())


def create_in_chunks(
    store: Store,
    records: Iterable[Mapping[str, Any]],
    *,
    actor: Actor,
    settings: Settings,
    source: str,
    chunk_size: int = 5000,
    workers: int | None = None,
    on_chunk: Callable[[int, BulkResult], None] | None = None,
) -> BulkResult:
    """Create customers from any number of records; row indices in the result are global."""
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    with store.unit_of_work(write=False) as uow:
        registry = attribute_registry(uow)
    context = validation_context(settings)
    total = BulkResult()
    offset = 0
    for chunk, checked in checked_chunks(
        records, context, registry, chunk_size=chunk_size, workers=workers
    ):
        with store.unit_of_work() as uow:
            result = create_customers(
                uow, chunk, actor=actor, settings=settings, source=source, checked=checked
            )
            uow.commit()
        total.created.extend(result.created)
        total.rejected.extend(
            RowRejection(r.index + offset, r.errors, r.status) for r in result.rejected
        )
        offset += len(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk), result)
    return total
