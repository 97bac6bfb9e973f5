"""The request context: settings, the store, and the one place where a request authenticates and
runs its use case in a unit of work.

With PostgreSQL a request makes two hops to the thread pool, one to check its key and one for
its use case (FastAPI would otherwise hop once per synchronous dependency). With the embedded
SQLite store, key checks and reads run on the event loop (see ``_inline``); writes, which may
wait for the write lock, always go to the thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from clientela.domain.actor import Actor
from clientela.domain.errors import Forbidden, Unauthorized
from clientela.security import policy
from clientela.security.apikeys import authenticate
from clientela.security.users import check_csrf, session_actor
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["Ctx", "RequestContext", "get_settings", "get_store"]

T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@dataclass(frozen=True, slots=True)
class RequestContext:
    store: Store
    settings: Settings
    actor: Actor
    #: the read-only unit of work the key was checked in (embedded store), reused by ``read``
    read_uow: UnitOfWork | None = None

    async def read(self, use_case: Callable[[UnitOfWork, Actor], T]) -> T:
        """Run a use case that only reads (its audit entries are group-committed)."""
        if not _inline(self.store):
            return await run_in_threadpool(self._run, False, use_case)
        assert self.read_uow is not None
        result = use_case(self.read_uow, self.actor)
        await self.store.flush_async(self.read_uow.end_read())
        return result

    async def write(self, use_case: Callable[[UnitOfWork, Actor], T]) -> T:
        """Run a use case in a write transaction, committed when it returns."""
        return await run_in_threadpool(self._run, True, use_case)

    async def apart(self, function: Callable[[], T]) -> T:
        """Run a long use case that opens its own units of work (dedupe, retention, privacy
        requests) in the thread pool, after ending this request's read snapshot: a snapshot
        held open would keep SQLite from emptying its write-ahead log (erasure needs that)."""
        if self.read_uow is not None:
            await self.store.flush_async(self.read_uow.end_read())
        return await run_in_threadpool(function)

    def _run(self, write: bool, use_case: Callable[[UnitOfWork, Actor], T]) -> T:
        with self.store.unit_of_work(write=write) as uow:
            result = use_case(uow, self.actor)
            uow.commit()
            return result


def _inline(store: Store) -> bool:
    """Reads on the embedded store run on the event loop: a SQLite read takes tens of
    microseconds, less than the hop to a worker thread (~100 µs), and never waits for a lock in
    WAL mode. PostgreSQL reads are network round trips: they go to the thread pool."""
    return store.dialect == "sqlite"


def _authenticate(
    uow: UnitOfWork, settings: Settings, token: str, request_id: str | None, ip: str | None
) -> Actor:
    return authenticate(
        uow,
        token,
        touch_interval=timedelta(seconds=settings.api_key_touch_seconds),
        request_id=request_id,
        ip=ip,
    )


def _authenticate_apart(
    store: Store, settings: Settings, token: str, request_id: str | None, ip: str | None
) -> Actor:
    with store.unit_of_work(write=False) as uow:
        actor = _authenticate(uow, settings, token, request_id, ip)
        uow.commit()
    return actor


def _token(request: Request) -> str | None:
    """The API key of a request: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

    Read here directly rather than through FastAPI's security dependencies (two more dependency
    resolutions on every request); the OpenAPI document declares both schemes (see app.py).
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return request.headers.get("x-api-key") or None


async def request_context(request: Request) -> AsyncIterator[RequestContext]:
    """The one authentication point of the API (roles and MFA extend it, not replace it).

    It runs before the body is validated, so a caller without a valid key learns nothing about
    what a route accepts.
    """
    permission = route_permission(request)
    token = _token(request)
    session = request.cookies.get(SESSION_COOKIE)
    if not token and session:
        async for context in _session_context(request, session, permission):
            yield context
        return
    if not token:
        raise Unauthorized("This endpoint needs an API key (Authorization: Bearer <key>).")
    store: Store = request.app.state.store
    settings: Settings = request.app.state.settings
    arguments = (
        settings,
        token,
        getattr(request.state, "request_id", None),
        request.client.host if request.client else None,
    )
    if not _inline(store):
        actor = await run_in_threadpool(_authenticate_apart, store, *arguments)
        policy.check(actor, permission)
        yield RequestContext(store=store, settings=settings, actor=actor)
        return
    with store.unit_of_work(write=False) as uow:
        actor = _authenticate(uow, *arguments)
        policy.check(actor, permission)
        yield RequestContext(store=store, settings=settings, actor=actor, read_uow=uow)


SESSION_COOKIE = "clientela_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session_context(
    request: Request, token: str, permission: str
) -> AsyncIterator[RequestContext]:
    """A signed-in person (web application): the session cookie, and for changes the
    session's CSRF token in ``X-CSRF-Token``."""
    store: Store = request.app.state.store
    settings: Settings = request.app.state.settings
    request_id = getattr(request.state, "request_id", None)
    ip = request.client.host if request.client else None
    with store.unit_of_work(write=False) as uow:
        actor, session = session_actor(uow, token, ip=ip, request_id=request_id)
        if request.method not in _SAFE_METHODS:
            check_csrf(session, request.headers.get("x-csrf-token"))
        policy.check(actor, permission)
        yield RequestContext(store=store, settings=settings, actor=actor, read_uow=uow)


def route_permission(request: Request) -> str:
    """The route's permission from the policy table; a route it does not name is refused."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    method = "GET" if request.method == "HEAD" else request.method
    permission = policy.ROUTES.get((method, str(path)))
    if permission is None or permission in (policy.PUBLIC, policy.WRITE_KEY, policy.SESSION):
        raise Forbidden("No policy covers this route.")
    return permission


Ctx = Annotated[RequestContext, Depends(request_context)]
