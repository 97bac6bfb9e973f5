"""Pages. For now the home page; the application grows here capability by capability."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from clientela import __version__
from clientela.api.deps import get_store
from clientela.customers.service import count_active
from clientela.storage.store import Store

STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: Annotated[Store, Depends(get_store)]) -> HTMLResponse:
    with store.unit_of_work(write=False) as uow:
        customers = count_active(uow)
    return templates.TemplateResponse(
        request,
        "home.html",
        {"version": __version__, "customers": customers, "store": store.dialect},
    )
