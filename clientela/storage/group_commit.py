"""Group commit for the small writes of read-only units of work.

Reading a profile writes an audit entry (and now and then an API key's last-used time). Doing that
in each reader's own write transaction would queue every read behind SQLite's single writer lock,
each waiting out SQLite's busy-sleep. Instead a read-only unit of work hands those writes here at
commit. The first caller becomes the leader: it takes everything queued so far, applies it in one
transaction on the writer's own connection, commits, and wakes the callers whose writes it took.
Callers that arrive meanwhile queue up for the next leader. Nobody returns before their writes are
durable; an idle system pays one ordinary commit, a busy one a commit per batch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection, Engine

__all__ = ["Coalescing", "GroupCommitWriter", "Operation"]

Operation = Callable[[Connection], None]


@runtime_checkable
class Coalescing(Protocol):
    """An operation that can stand for several of its kind in one batch: the audit entries of
    sixteen concurrent reads are one chain head read and one insert, not sixteen of each."""

    coalesce_key: Hashable

    def __call__(self, connection: Connection) -> None: ...

    def coalesced(self, others: Sequence[Coalescing]) -> Operation:
        """One operation doing the work of ``others`` (this one among them, in order)."""
        ...


def _coalesced(operations: Sequence[Operation]) -> list[Operation]:
    """The operations in order, those sharing a coalesce key replaced by one, at the place of
    the first of them."""
    result: list[Operation] = []
    groups: dict[Hashable, tuple[int, list[Coalescing]]] = {}
    for operation in operations:
        if isinstance(operation, Coalescing):
            found = groups.get(operation.coalesce_key)
            if found is not None:
                found[1].append(operation)
                continue
            groups[operation.coalesce_key] = (len(result), [operation])
        result.append(operation)
    for at, group in groups.values():
        if len(group) > 1:
            result[at] = group[0].coalesced(group)
    return result


@dataclass
class _Request:
    operations: Sequence[Operation]
    #: set when applied; callers on the event loop wait on a future instead (no Event built)
    done: threading.Event | None = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Request] = []
        self._connection: Connection | None = None
        self._async_pending: list[tuple[Sequence[Operation], asyncio.Future[None]]] = []
        self._async_scheduled = False

    async def run_async(self, operations: Sequence[Operation]) -> None:
        """``run`` for callers on an event loop with an embedded store: the writes of every
        request that finishes in the same loop iteration share one commit."""
        if not operations:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._async_pending.append((operations, future))
        if not self._async_scheduled:
            self._async_scheduled = True
            loop.call_soon(self._flush_async)
        await future

    def _flush_async(self) -> None:
        batch, self._async_pending = self._async_pending, []
        self._async_scheduled = False
        requests = [_Request(operations, done=None) for operations, _ in batch]
        with self._leader:
            self._commit(requests)
        for request, (_, future) in zip(requests, batch, strict=True):
            if future.done():
                continue
            if request.error is not None:
                future.set_exception(request.error)
            else:
                future.set_result(None)

    def run(self, operations: Sequence[Operation]) -> None:
        """Apply ``operations`` in a committed transaction; return when durable, or raise."""
        if not operations:
            return
        request = _Request(operations)
        done = request.done
        assert done is not None
        with self._queue_lock:
            self._queue.append(request)
        while not done.is_set():
            with self._leader:
                if done.is_set():
                    break
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if request.error is not None:
            raise request.error

    def close(self) -> None:
        with self._leader:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _commit(self, batch: list[_Request]) -> None:
        try:
            self._apply(batch)
        except Exception:  # one bad request must not fail its neighbours: retry one by one
            for request in batch:
                try:
                    self._apply([request])
                except Exception as exc:  # handed to the waiting caller
                    request.error = exc
        finally:
            for request in batch:
                if request.done is not None:
                    request.done.set()

    def _apply(self, batch: list[_Request]) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
            self._connection.execution_options(clientela_write=True)
        connection = self._connection
        try:
            for operation in _coalesced([op for request in batch for op in request.operations]):
                operation(connection)
            connection.commit()
        except Exception:
            # Start the next batch on a fresh connection: this one may be broken.
            self._connection = None
            try:
                connection.rollback()
            finally:
                connection.close()
            raise
