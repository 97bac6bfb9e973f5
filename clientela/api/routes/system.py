"""Health and ping: the only unauthenticated routes besides the tracking API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from clientela import __version__
from clientela.api.deps import get_store
from clientela.api.schemas import Health
from clientela.domain.errors import StoreNotReady
from clientela.storage.store import Store

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health", response_model=Health, summary="Is the service up and the store current?")
def health(store: Annotated[Store, Depends(get_store)]) -> dict[str, Any]:
    if not store.is_current():
        raise StoreNotReady("The store needs `clientela db upgrade`.")
    return {"status": "ok", "version": __version__, "store": store.dialect}


@router.get("/ping", response_class=PlainTextResponse, summary="Trivial liveness probe")
async def ping() -> str:
    return "pong"
