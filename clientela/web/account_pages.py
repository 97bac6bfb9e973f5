"""Each person's own account page: the pages' language, a new password, two-factor sign-in.

A new password ends every session of the account and starts a fresh one for this browser (the
same use case as ``POST /api/v1/auth/password``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from clientela.api.deps import SESSION_COOKIE
from clientela.domain.errors import ClientelaError, FieldError, ValidationFailed
from clientela.security import users
from clientela.web.auth import Page
from clientela.web.i18n import LANGUAGES, N_
from clientela.web.pages import (
    PageContext,
    error_text,
    set_session_cookie,
    templates,
    unknown_action,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _account_page(
    request: Request, page: Page, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context: dict[str, Any] = {"page": page, "error": None, "done": None, **extra}
    return templates.TemplateResponse(request, "account.html", context, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, page: PageContext) -> HTMLResponse:
    return _account_page(request, page, done=request.query_params.get("done"))


@router.post("/account", response_model=None)
async def account_change(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))
    try:
        if action == "language":
            language = str(form.get("language", ""))[:12]

            def set_language() -> None:
                with page.store.unit_of_work() as uow:
                    users.set_language(uow, page.actor.id, language, supported=LANGUAGES)
                    uow.commit()

            await run_in_threadpool(set_language)
            return RedirectResponse("/account?done=language", status_code=303)
        if action == "password":
            return await _change_password(request, form)
        raise unknown_action()
    except ClientelaError as exc:
        return _account_page(request, page, status_code=exc.status, error=error_text(request, exc))


async def _change_password(request: Request, form: Any) -> Response:
    current = str(form.get("current_password", ""))[:1024]
    new = str(form.get("new_password", ""))[:1024]
    if new != str(form.get("repeat_password", ""))[:1024]:
        raise ValidationFailed(
            N_("The new password is not acceptable."),
            errors=[FieldError("repeat_password", N_("is not the same as the new password"))],
        )
    store = request.app.state.store
    token = request.cookies.get(SESSION_COOKIE, "")
    ip = request.client.host if request.client else None

    def use_case() -> users.SignIn:
        with store.unit_of_work() as uow:
            signed = users.change_password(uow, token, current, new, ip=ip)
            uow.commit()
            return signed

    signed = await run_in_threadpool(use_case)
    response = RedirectResponse("/account?done=password", status_code=303)
    set_session_cookie(request, response, signed.token)  # the old sessions ended
    return response
