"""Errors on pages are pages: a sign-in redirect, or what happened and what to do — never
problem+json, which stays the API's (paths under /api and /v1)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from clientela.api.problems import _from_clientela_error
from clientela.domain.errors import ClientelaError
from clientela.web.auth import SignInNeeded

__all__ = ["install_page_handlers"]


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path.startswith("/v1"))


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return RedirectResponse(exc.location, status_code=303)


async def _clientela_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClientelaError)
    if not _is_page(request):
        return _from_clientela_error(request, exc)
    from clientela.web.pages import page_error

    return page_error(request, exc)


def install_page_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(ClientelaError, _clientela_error)
