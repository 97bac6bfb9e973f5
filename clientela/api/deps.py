"""Dependencies shared by the routes: settings, the unit of work, the authenticated actor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from clientela.domain.actor import Actor
from clientela.domain.errors import Forbidden, Unauthorized
from clientela.security.apikeys import authenticate
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["CurrentActor", "SettingsDep", "UoW", "require_scope"]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer clk_…`")
_header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def unit_of_work(store: Annotated[Store, Depends(get_store)]) -> Iterator[UnitOfWork]:
    with store.unit_of_work() as uow:
        yield uow


SettingsDep = Annotated[Settings, Depends(get_settings)]
UoW = Annotated[UnitOfWork, Depends(unit_of_work)]


def authenticated_actor(
    request: Request,
    uow: UoW,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header_key)],
) -> Actor:
    """The one authentication point of the API (roles and MFA extend it, not replace it)."""
    token = bearer.credentials if bearer is not None else header_key
    if not token:
        raise Unauthorized("This endpoint needs an API key (Authorization: Bearer <key>).")
    return authenticate(
        uow,
        token,
        touch_interval=timedelta(seconds=settings.api_key_touch_seconds),
        request_id=getattr(request.state, "request_id", None),
        ip=request.client.host if request.client else None,
    )


CurrentActor = Annotated[Actor, Depends(authenticated_actor)]


def require_scope(scope: str) -> Callable[[Actor], Actor]:
    def check(actor: CurrentActor) -> Actor:
        if scope not in actor.scopes and "admin" not in actor.scopes:
            raise Forbidden(f"This API key lacks the {scope!r} scope.")
        return actor

    return check


Reader = Annotated[Actor, Depends(require_scope("read"))]
Writer = Annotated[Actor, Depends(require_scope("write"))]
Admin = Annotated[Actor, Depends(require_scope("admin"))]
