"""The DPO's pages beside the requests: the consent ledger search, the purposes register,
retention policies and runs, and breach impact reports.

Each page calls the same use cases as ``/api/v1/privacy`` and ``/api/v1/purposes``; a refused
form is shown again with what was typed and why, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from clientela.domain.attributes import Category
from clientela.domain.errors import ClientelaError, FieldError, ValidationFailed
from clientela.domain.privacy import CONSENT_ACTIONS, LAWFUL_BASES
from clientela.privacy import breach, ledger, register, retention
from clientela.security import policy
from clientela.storage.uow import UnitOfWork
from clientela.web.auth import Page
from clientela.web.i18n import N_
from clientela.web.pages import PageContext, error_text, templates, unknown_action

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: the sub-navigation of the privacy pages: (path, label)
PRIVACY_TABS = (
    ("/privacy/requests", N_("Requests")),
    ("/privacy/consents", N_("Consent ledger")),
    ("/privacy/purposes", N_("Purposes")),
    ("/privacy/retention", N_("Retention")),
    ("/privacy/breach", N_("Breach reports")),
)
templates.env.globals["privacy_tabs"] = PRIVACY_TABS
#: what a breach report can be about (breach.COMPROMISED_KINDS), in words
COMPROMISED = {
    "actor": N_("an actor (audit label)"),
    "api_key": N_("an API key"),
    "user": N_("a user account"),
    "store": N_("the whole store"),
}


def _form_day(form: Mapping[str, Any], name: str, errors: list[FieldError]) -> date | None:
    text = str(form.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(name, N_("must be a day as YYYY-MM-DD"), "invalid_date"))
        return None


def _form_moment(form: Mapping[str, Any], name: str, errors: list[FieldError]) -> datetime | None:
    """A ``datetime-local`` field, read as UTC (the form says so)."""
    text = str(form.get(name) or "").strip()
    if not text:
        errors.append(FieldError(name, N_("is required"), "required"))
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(
            FieldError(name, N_("must be a date and time as YYYY-MM-DDTHH:MM"), "invalid")
        )
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _form_int(form: Mapping[str, Any], name: str, errors: list[FieldError]) -> int | None:
    text = str(form.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit():
        errors.append(FieldError(name, N_("must be a whole number"), "invalid_number"))
        return None
    return int(text)


async def _render(
    request: Request,
    page: Page,
    name: str,
    context: Callable[[UnitOfWork], dict[str, Any]],
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            found = context(uow)
            uow.commit()  # the audit entries of what was shown
            return found

    values = await run_in_threadpool(use_case)
    return templates.TemplateResponse(
        request, name, {"page": page, **values, **extra}, status_code=status_code
    )


async def _write(page: Page, use_case: Callable[[UnitOfWork], Any]) -> Any:
    def run() -> Any:
        with page.store.unit_of_work() as uow:
            result = use_case(uow)
            uow.commit()
            return result

    return await run_in_threadpool(run)


# --- consent ledger ---------------------------------------------------------------------------


@router.get("/privacy/consents", response_class=HTMLResponse)
async def consent_ledger_page(request: Request, page: PageContext) -> HTMLResponse:
    """Who granted, denied or withdrew what, when, and the proof of the notice shown."""
    query = request.query_params
    errors: list[FieldError] = []
    since = _form_day(query, "since", errors)
    until = _form_day(query, "until", errors)
    person = (query.get("person") or "").strip()[:254] or None
    purpose = query.get("purpose") or None
    action = query.get("action") or None
    searched = any((purpose, action, person, since, until))
    values = {
        name: query.get(name, "") for name in ("purpose", "action", "person", "since", "until")
    }

    def context(uow: UnitOfWork) -> dict[str, Any]:
        purposes = register.list_purposes(uow)
        error, found = None, None
        try:
            if errors:
                raise ValidationFailed(N_("The ledger search is invalid."), errors=errors)
            found = ledger.search_ledger(
                uow,
                actor=page.actor,
                region=page.settings.default_region,
                purpose=purpose,
                action=action,
                person=person,
                since=since,
                until=until,
                cursor=query.get("cursor") or None,
            )
        except ClientelaError as exc:
            error = error_text(request, exc)
        next_url = None
        if found is not None and found.next_cursor:
            kept = {name: value for name, value in values.items() if value}
            next_url = "/privacy/consents?" + urlencode({**kept, "cursor": found.next_cursor})
        return {"purposes": purposes, "found": found, "error": error, "next_url": next_url}

    return await _render(
        request,
        page,
        "consents.html",
        context,
        form=values,
        actions=CONSENT_ACTIONS,
        searched=searched,
        status_code=422 if errors else 200,
    )


# --- purposes register ------------------------------------------------------------------------


def _register_context(uow: UnitOfWork) -> dict[str, Any]:
    return {"purposes": register.list_purposes(uow), "problems": register.check_register(uow)}


@router.get("/privacy/purposes", response_class=HTMLResponse)
async def purposes_page(request: Request, page: PageContext) -> HTMLResponse:
    """The register of processing (GDPR Art. 30, LGPD Art. 37) and what it leaves uncovered."""
    return await _render(request, page, "purposes.html", _register_context, **_purpose_extras(page))


def _purpose_extras(page: Page, **extra: Any) -> dict[str, Any]:
    return {
        "bases": LAWFUL_BASES,
        "categories": [str(c) for c in Category],
        "can_manage": policy.allowed(page.actor, "register.manage"),
        "error": None,
        "form": {},
        **extra,
    }


@router.post("/privacy/purposes", response_model=None)
async def purposes_action(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))
    errors: list[FieldError] = []
    submitted = {
        "key": str(form.get("key", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "lawful_basis": str(form.get("lawful_basis", "")),
        "data_categories": [str(c) for c in form.getlist("data_categories")],
        "retention_days": _form_int(form, "retention_days", errors),
        "description": str(form.get("description", "")).strip(),
        "recipients": [r.strip() for r in str(form.get("recipients", "")).split(",") if r.strip()],
    }

    def use_case(uow: UnitOfWork) -> None:
        if action == "create":
            if errors:
                raise ValidationFailed(N_("The purpose is invalid."), errors=errors)
            register.create_purpose(uow, submitted, actor=page.actor)
        elif action == "delete":
            register.delete_purpose(uow, str(form.get("key", "")), actor=page.actor)
        else:
            raise unknown_action()

    try:
        await _write(page, use_case)
    except ClientelaError as exc:
        return await _render(
            request,
            page,
            "purposes.html",
            _register_context,
            status_code=exc.status,
            **_purpose_extras(page, error=error_text(request, exc), form=submitted),
        )
    return RedirectResponse(f"/privacy/purposes?done={action}", status_code=303)


# --- retention --------------------------------------------------------------------------------


def _retention_context(uow: UnitOfWork) -> dict[str, Any]:
    return {
        "policies": retention.list_policies(uow),
        "runs": retention.list_runs(uow),
        "purposes": register.list_purposes(uow),
    }


def _retention_extras(page: Page, **extra: Any) -> dict[str, Any]:
    return {
        "categories": [str(c) for c in Category],
        "can_run": policy.allowed(page.actor, "privacy.retention"),
        "error": None,
        "summary": None,
        **extra,
    }


@router.get("/privacy/retention", response_class=HTMLResponse)
async def retention_page(request: Request, page: PageContext) -> HTMLResponse:
    """Retention policies, the last runs and what each did; a dry run or a run now."""
    return await _render(
        request, page, "retention.html", _retention_context, **_retention_extras(page)
    )


@router.post("/privacy/retention", response_model=None)
async def retention_action(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))
    try:
        if action in ("dry_run", "apply"):
            if action == "apply" and form.get("confirm") != "yes":
                raise ValidationFailed(
                    N_("Nothing was erased."),
                    errors=[FieldError("confirm", N_("tick the box to apply the policies"))],
                )
            summary = await run_in_threadpool(
                lambda: retention.run_retention(
                    page.store,
                    actor=page.actor,
                    settings=page.settings,
                    dry_run=action == "dry_run",
                )
            )
            return await _render(
                request,
                page,
                "retention.html",
                _retention_context,
                **_retention_extras(page, summary=summary),
            )
        errors: list[FieldError] = []
        days = _form_int(form, "days", errors)
        if action == "add":
            if errors:
                raise ValidationFailed(N_("The retention policy is invalid."), errors=errors)
            data = {
                "category": str(form.get("category", "")),
                "days": days,
                "purpose": str(form.get("purpose", "")) or None,
                "description": str(form.get("description", "")).strip(),
            }
            await _write(page, lambda uow: retention.add_policy(uow, data, actor=page.actor))
        elif action == "remove":
            policy_id = str(form.get("policy_id", ""))
            await _write(
                page, lambda uow: retention.remove_policy(uow, policy_id, actor=page.actor)
            )
        else:
            raise unknown_action()
    except ClientelaError as exc:
        return await _render(
            request,
            page,
            "retention.html",
            _retention_context,
            status_code=exc.status,
            **_retention_extras(page, error=error_text(request, exc)),
        )
    return RedirectResponse(f"/privacy/retention?done={action}", status_code=303)


# --- breach reports ---------------------------------------------------------------------------


def _breach_context(uow: UnitOfWork) -> dict[str, Any]:
    return {"reports": breach.recent_reports(uow)}


def _breach_extras(**extra: Any) -> dict[str, Any]:
    return {
        "kinds": breach.COMPROMISED_KINDS,
        "compromised": COMPROMISED,
        "error": None,
        "form": {},
        **extra,
    }


@router.get("/privacy/breach", response_class=HTMLResponse)
async def breach_page(request: Request, page: PageContext) -> HTMLResponse:
    """Who and what a breach exposed, and by when each authority and person must be told."""
    shown = request.query_params.get("report")
    return await _render(
        request, page, "breach.html", _breach_context, **_breach_extras(shown=shown)
    )


@router.post("/privacy/breach", response_model=None)
async def breach_action(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    errors: list[FieldError] = []
    start = _form_moment(form, "window_start", errors)
    end = _form_moment(form, "window_end", errors)
    aware = _form_moment(form, "aware_at", errors)
    submitted = {
        name: str(form.get(name, "")).strip()
        for name in ("kind", "identifier", "window_start", "window_end", "aware_at")
    }

    def use_case(uow: UnitOfWork) -> dict[str, Any]:
        if errors or start is None or end is None or aware is None:
            raise ValidationFailed(N_("The breach report is invalid."), errors=errors)
        return breach.breach_report(
            uow,
            kind=submitted["kind"],
            identifier=submitted["identifier"] or None,
            start=start,
            end=end,
            aware_at=aware,
            actor=page.actor,
        )

    try:
        report = await _write(page, use_case)
    except ClientelaError as exc:
        return await _render(
            request,
            page,
            "breach.html",
            _breach_context,
            status_code=exc.status,
            **_breach_extras(error=error_text(request, exc), form=submitted, shown=None),
        )
    return RedirectResponse(f"/privacy/breach?report={report['id']}", status_code=303)


@router.get("/privacy/breach/{report_id}/notifications", response_model=None)
async def breach_notifications(report_id: str, page: PageContext) -> Response:
    """The people to notify with their contact details, as CSV (the download is audited)."""
    text = await _write(
        page, lambda uow: breach.notification_list(uow, report_id, actor=page.actor)
    )
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="breach-{report_id[:8]}.csv"'},
    )
