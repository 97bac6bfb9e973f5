"""The web application's pages: server-rendered, usable without JavaScript (htmx, when the
front-end packages are installed, turns the search into search-as-you-type).

Every page goes through ``web.auth.page_context`` (session, MFA, the policy table) and every
use case through the same services as the API, so masking and the audit log are the same.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from clientela import __version__
from clientela.analytics.dashboard import dashboard
from clientela.analytics.overview import analytics_overview
from clientela.analytics.runs import ANALYSES, run_analysis
from clientela.api.deps import SESSION_COOKIE, get_store
from clientela.audit import service as audit_service
from clientela.customers.service import (
    count_active,
    get_customer,
    search_customers,
    shown_all,
    timeline,
    update_customer,
)
from clientela.dedupe import review as dedupe_review
from clientela.domain.errors import (
    ClientelaError,
    Conflict,
    FieldError,
    InvalidValue,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
)
from clientela.domain.identity import normalise_identity
from clientela.domain.ids import is_uuid, new_id
from clientela.domain.segment_text import from_text, to_text
from clientela.domain.segments import FIELD_TYPES, SCORE_TYPES
from clientela.identity.merging import merge_history, unmerge
from clientela.ingest import jobs as import_jobs
from clientela.ingest.mapping import check_targets
from clientela.privacy import register
from clientela.privacy import requests as privacy_requests
from clientela.privacy.consent import consent_state
from clientela.security import policy, users
from clientela.security.apikeys import ROLES, create_api_key, list_api_keys, revoke_api_key
from clientela.segments.service import (
    count_segment,
    create_segment,
    list_segments,
    materialise_segment,
    segments_of,
)
from clientela.storage.store import Store
from clientela.web import i18n
from clientela.web.auth import Page, page_context
from clientela.web.i18n import N_
from clientela.web.labels import FIELD_LABELS

if TYPE_CHECKING:
    from clientela.storage.uow import UnitOfWork

STATIC_DIR = Path(__file__).parent / "static"
#: front-end packages installed from the npm registry by ``make assets`` (never committed)
VENDOR_DIR = Path(__file__).resolve().parents[2] / "frontend" / "node_modules"
templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[i18n.page_language]
)
i18n.install(templates.env)
templates.env.globals["version"] = __version__
templates.env.globals["has_htmx"] = (VENDOR_DIR / "htmx.org" / "dist" / "htmx.min.js").exists()
router = APIRouter(include_in_schema=False)

PageContext = Annotated[Page, Depends(page_context)]

#: the profile on the 360 page, by the five kinds of data
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        N_("Personal and contact"),
        (
            "given_name",
            "family_name",
            "email",
            "phone",
            "document",
            "birth_date",
            "gender",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "locale",
        ),
    ),
    (
        N_("Demographic"),
        ("occupation", "education", "income_band", "marital_status", "household_size"),
    ),
    (N_("Behavioural"), ("preferred_channel", "first_seen_at", "last_seen_at", "event_count")),
    (N_("Psychographic"), ("interests", "values", "lifestyle")),
    (
        N_("Transactional"),
        (
            "order_count",
            "total_revenue",
            "first_order_at",
            "last_order_at",
            "preferred_payment_method",
        ),
    ),
)


def error_text(request: Request, exc: ClientelaError) -> str:
    """A refusal in one line for a page, in its language: what went wrong, then each field and
    why."""
    _ = i18n.translator(request)
    label = FIELD_LABELS.get
    fields = "; ".join(f"{_(label(e.field, e.field))}: {_(e.message)}" for e in exc.errors)
    return f"{_(exc.detail)} {fields}".strip()


def unknown_action() -> ValidationFailed:
    """A form posted with an ``action`` its page does not have (a forged or stale form)."""
    return ValidationFailed(
        N_("Unknown action."), errors=[FieldError("action", N_("not one of this page's"))]
    )


def _safe_next(target: str | None) -> str:
    """Only paths of this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: Annotated[Store, Depends(get_store)]) -> HTMLResponse:
    with store.unit_of_work(write=False) as uow:
        customers = count_active(uow)
    return templates.TemplateResponse(
        request, "home.html", {"customers": customers, "store": store.dialect}
    )


# --- signing in -----------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "sign_in.html", {"next": _safe_next(next), "error": None, "email": ""}
    )


@router.post("/sign-in", response_model=None)
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    store: Store = request.app.state.store
    ip = request.client.host if request.client else None

    def use_case() -> users.SignIn:
        with store.unit_of_work() as uow:
            try:
                signed = users.sign_in(uow, email, password, ip=ip)
            except users.SignInRefused:
                uow.commit()  # the failure counts towards throttling
                raise
            uow.commit()
            return signed

    try:
        signed = await run_in_threadpool(use_case)
    except ClientelaError as exc:
        return templates.TemplateResponse(
            request,
            "sign_in.html",
            {"next": _safe_next(next), "error": exc.detail, "email": email},
            status_code=exc.status,
        )
    target = _safe_next(next)
    if signed.mfa_required or signed.mfa_enrolment_required:
        target = f"/sign-in/mfa?next={target}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, signed.token)
    return response


def _pending_user(request: Request) -> dict[str, Any] | None:
    """The user of a session that may still wait for its second factor (None: no session)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    store: Store = request.app.state.store
    with store.unit_of_work(write=False) as uow:
        try:
            actor, _ = users.session_actor(
                uow, token, ip=None, request_id=None, allow_pending_mfa=True
            )
        except Unauthorized:
            return None
        user = uow.users.get(actor.id)
        uow.commit()
    return user


@router.get("/sign-in/mfa", response_model=None)
async def mfa_page(request: Request, next: str | None = None) -> Response:
    """The code step; for an account whose role needs MFA and has none yet, enrolment."""
    user = await run_in_threadpool(_pending_user, request)
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    if user["mfa_enabled_at"] is None:
        return templates.TemplateResponse(
            request, "enrol.html", {"next": _safe_next(next), "error": None, "step": "password"}
        )
    return templates.TemplateResponse(
        request, "mfa.html", {"next": _safe_next(next), "error": None}
    )


async def _enrolment_step(
    request: Request,
    next_url: str,
    step: Callable[[UnitOfWork, str], dict[str, Any]],
) -> HTMLResponse:
    """Runs one enrolment step for the signed-in-but-unverified user and renders its page."""
    user = await run_in_threadpool(_pending_user, request)
    if user is None:
        raise Unauthorized(N_("Sign in first."))
    store: Store = request.app.state.store

    def use_case() -> dict[str, Any]:
        with store.unit_of_work() as uow:
            shown = step(uow, str(user["id"]))
            uow.commit()
            return shown

    try:
        shown = await run_in_threadpool(use_case)
    except ClientelaError as exc:
        return templates.TemplateResponse(
            request,
            "enrol.html",
            {"next": _safe_next(next_url), "error": exc.detail, "step": "password"},
            status_code=exc.status,
        )
    return templates.TemplateResponse(
        request, "enrol.html", {"next": _safe_next(next_url), "error": None, **shown}
    )


@router.post("/sign-in/mfa/enrol", response_class=HTMLResponse)
async def mfa_enrol(
    request: Request,
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> HTMLResponse:
    """Enrolment, after the password again: the secret to add to an authenticator app."""
    return await _enrolment_step(
        request,
        next,
        lambda uow, user_id: {
            "step": "code",
            **users.start_mfa_enrolment(uow, user_id, password=password),
        },
    )


@router.post("/sign-in/mfa/confirm", response_class=HTMLResponse)
async def mfa_confirm(
    request: Request,
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> HTMLResponse:
    """A first code turns MFA on; the recovery codes are shown this once."""
    return await _enrolment_step(
        request,
        next,
        lambda uow, user_id: {
            "step": "done",
            "codes": users.confirm_mfa(uow, user_id, code.strip()),
        },
    )


@router.post("/sign-in/mfa", response_model=None)
async def mfa(
    request: Request,
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    store: Store = request.app.state.store
    token = request.cookies.get(SESSION_COOKIE)
    ip = request.client.host if request.client else None
    if not token:
        return RedirectResponse("/sign-in", status_code=303)

    def use_case() -> users.SignIn:
        with store.unit_of_work() as uow:
            signed = users.verify_mfa(uow, token, code, ip=ip)
            uow.commit()
            return signed

    try:
        signed = await run_in_threadpool(use_case)
    except ClientelaError as exc:
        return templates.TemplateResponse(
            request,
            "mfa.html",
            {"next": _safe_next(next), "error": exc.detail},
            status_code=exc.status,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, signed.token)
    return response


@router.post("/sign-out", response_model=None)
async def sign_out(
    request: Request, page: PageContext, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    page.check_csrf(csrf_token)
    token = request.cookies.get(SESSION_COOKIE, "")

    def use_case() -> None:
        with page.store.unit_of_work() as uow:
            users.end_session(uow, token)
            uow.commit()

    await run_in_threadpool(use_case)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    secure = request.url.scheme == "https" or settings.environment == "production"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
        max_age=12 * 3600,
    )


# --- dashboard --------------------------------------------------------------------------------


def bars(values: list[float], height: int = 120) -> list[int]:
    """Bar heights in pixels for a small server-drawn chart (no chart library, no script)."""
    top = max(values, default=0) or 1
    return [round(value / top * height) for value in values]


templates.env.globals["bars"] = bars


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, page: PageContext) -> HTMLResponse:
    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            return dashboard(
                uow,
                minor_per_major=10**page.settings.currency_exponent,
                with_requests=policy.allowed(page.actor, "privacy.requests"),
            )

    figures = await run_in_threadpool(use_case)
    return templates.TemplateResponse(request, "dashboard.html", {"page": page, "figures": figures})


# --- imports ----------------------------------------------------------------------------------

PENDING_HOURS = 1
MAX_UPLOAD = 200 * 1024 * 1024


def _pending_dir(page: Page) -> Path:
    folder = page.settings.data_dir / "imports" / "pending"
    folder.mkdir(parents=True, exist_ok=True)
    # uploads previewed and never imported do not linger (they hold personal data)
    limit = time.time() - PENDING_HOURS * 3600
    for old in folder.iterdir():
        if old.stat().st_mtime < limit:
            shutil.rmtree(old, ignore_errors=True)
    return folder


@router.get("/imports", response_class=HTMLResponse)
async def imports_page(request: Request, page: PageContext) -> HTMLResponse:
    past = await run_in_threadpool(import_jobs.list_imports, page.store)
    return templates.TemplateResponse(
        request, "imports.html", {"page": page, "imports": past[:50], "error": None}
    )


@router.post("/imports/preview", response_class=HTMLResponse)
async def import_preview(
    request: Request,
    page: PageContext,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=20)] = "customers",
    source: Annotated[str, Form(max_length=100)] = "import",
    id_column: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """Keep the upload for an hour and show how it would be read; nothing is imported yet."""
    page.check_csrf(csrf_token)
    policy.check(page.actor, "imports.run")
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge(N_("The file is over the limit of 200 MB."))
    if kind not in ("customers", "transactions", "events"):
        raise ValidationFailed(
            N_("Unknown kind of import."),
            errors=[FieldError("kind", "customers, transactions, events")],
        )
    token = new_id()
    folder = _pending_dir(page) / token
    folder.mkdir()
    path = folder / import_jobs.safe_name(file.filename or "upload.csv")
    path.write_bytes(data)
    try:
        preview = await run_in_threadpool(
            lambda: import_jobs.preview_import(
                path, kind=kind, source=source, id_column=id_column or None
            )
        )
    except ClientelaError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return templates.TemplateResponse(
        request,
        "import_preview.html",
        {
            "page": page,
            "preview": preview,
            "token": token,
            "file_name": path.name,
            "kind": kind,
            "source": source,
            "id_column": id_column,
        },
    )


#: the most columns a preview lets a person map by hand
MAX_MAPPED_COLUMNS = 500


def _chosen_mapping(form: Any) -> dict[str, str] | None:
    """The target chosen for each column on the preview (``column_i`` names the column,
    ``target_i`` where it goes); None when the form carries no choices."""
    chosen = {
        str(form[f"column_{i}"]): str(form.get(f"target_{i}", "ignore"))
        for i in range(MAX_MAPPED_COLUMNS)
        if f"column_{i}" in form
    }
    return check_targets(chosen, field_prefix="mapping.") if chosen else None


@router.post("/imports", response_model=None)
async def import_run(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    policy.check(page.actor, "imports.run")
    token = str(form.get("token", ""))[:36]
    kind = str(form.get("kind", "customers"))[:20]
    source = str(form.get("source", "import"))[:100] or "import"
    id_column = str(form.get("id_column", ""))[:200]
    mapping = _chosen_mapping(form) if kind == "customers" else None
    folder = _pending_dir(page) / token
    files = sorted(folder.iterdir()) if is_uuid(token) and folder.is_dir() else []
    if not files:
        raise NotFound(
            N_("This upload is no longer here (previews are kept one hour): upload again.")
        )
    path = files[0]
    try:
        done = await run_in_threadpool(
            lambda: import_jobs.run_import(
                page.store,
                path.read_bytes(),
                path.name,
                kind=kind,
                source=source,
                id_column=id_column or None,
                settings=page.settings,
                actor=page.actor,
                mapping=mapping,
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return RedirectResponse(f"/imports/{done['id']}", status_code=303)


@router.get("/imports/{import_id}", response_class=HTMLResponse)
async def import_page(request: Request, import_id: str, page: PageContext) -> HTMLResponse:
    found = await run_in_threadpool(import_jobs.get_import, page.store, import_id)
    return templates.TemplateResponse(request, "import.html", {"page": page, "job": found})


@router.get("/imports/{import_id}/rejects", response_model=None)
async def import_rejects(import_id: str, page: PageContext) -> Response:
    content = await run_in_threadpool(
        lambda: import_jobs.rejects_of(page.store, import_id, actor=page.actor)
    )
    return Response(
        content,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{import_id}-rejects.csv"'},
    )


# --- administration -----------------------------------------------------------------------------


def _admin_context(page: Page, **extra: Any) -> dict[str, Any]:
    with page.store.unit_of_work(write=False) as uow:
        people = [
            {k: row[k] for k in ("id", "email", "role", "mfa_enabled_at", "disabled_at")}
            for row in uow.users.list()
        ]
        keys = list_api_keys(uow)
    return {
        "page": page,
        "users": people,
        "keys": keys,
        "roles": ROLES,
        "error": None,
        "token": None,
        **extra,
    }


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, page: PageContext) -> HTMLResponse:
    """Users and roles, API keys: who and what may use this store."""
    context = await run_in_threadpool(_admin_context, page)
    return templates.TemplateResponse(request, "admin.html", context)


@router.post("/admin", response_model=None)
async def admin_action(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))

    def use_case() -> str | None:
        with page.store.unit_of_work() as uow:
            token = None
            if action == "create_user":
                users.create_user(
                    uow,
                    email=str(form.get("email", "")),
                    role=str(form.get("role", "")),
                    password=str(form.get("password", "")),
                    actor=page.actor,
                )
            elif action == "disable_user":
                users.disable_user(uow, str(form.get("email", "")), actor=page.actor)
            elif action == "create_key":
                token = create_api_key(
                    uow,
                    name=str(form.get("name", "")),
                    role=str(form.get("role", "")),
                    actor=page.actor,
                ).token
            elif action == "revoke_key":
                revoke_api_key(uow, str(form.get("key_id", "")), actor=page.actor)
            else:
                raise unknown_action()
            uow.commit()
            return token

    try:
        token = await run_in_threadpool(use_case)
    except (ValidationFailed, Conflict, NotFound) as exc:
        error = error_text(request, exc)
        context = await run_in_threadpool(lambda: _admin_context(page, error=error))
        return templates.TemplateResponse(request, "admin.html", context, status_code=exc.status)
    if token is not None:  # shown once, on this answer only
        context = await run_in_threadpool(lambda: _admin_context(page, token=token))
        return templates.TemplateResponse(request, "admin.html", context)
    return RedirectResponse("/admin?done=1", status_code=303)


# --- analytics --------------------------------------------------------------------------------


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(request: Request, page: PageContext) -> HTMLResponse:
    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            figures = analytics_overview(uow)
            ids = [customer_id for customer_id, _ in figures["churn"]]
            rows = {row["id"]: row for row in uow.customers.get_many(ids)}
            people = shown_all(
                uow,
                page.actor,
                [
                    {"id": i, "full_name": rows[i]["full_name"], "email": rows[i]["email"]}
                    for i in ids
                    if i in rows
                ],
            )
            audit_service.record(
                uow, page.actor, "analytics.churn_list", ids, ["full_name", "email"]
            )
            uow.commit()
            scores = dict(figures["churn"])
            figures["churn"] = [{**person, "score": scores[person["id"]]} for person in people]
            return figures

    figures = await run_in_threadpool(use_case)
    return templates.TemplateResponse(
        request,
        "analytics.html",
        {
            "page": page,
            "figures": figures,
            "analyses": ANALYSES,
            "can_run": policy.allowed(page.actor, "analytics.run"),
        },
    )


@router.post("/analytics/run", response_model=None)
async def analytics_run(
    page: PageContext,
    what: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Recompute one analysis now (the same use cases as the CLI and the API)."""
    page.check_csrf(csrf_token)
    policy.check(page.actor, "analytics.run")

    def use_case() -> None:
        with page.store.unit_of_work() as uow:
            run_analysis(uow, what, settings=page.settings)
            uow.commit()

    await run_in_threadpool(use_case)
    return RedirectResponse(f"/analytics?ran={what}", status_code=303)


# --- customers ------------------------------------------------------------------------------------


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request, page: PageContext) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "customers.html", {"page": page, "q": "", "results": None}
    )


@router.post("/customers", response_class=HTMLResponse)
async def search(
    request: Request,
    page: PageContext,
    q: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """Search by name, e-mail, phone in any format or CPF — a POST, so what was typed never
    lands in addresses, history or access logs. With htmx only the results are swapped in as
    one types."""
    page.check_csrf(csrf_token)
    results: list[dict[str, Any]] | None = None
    if q.strip():

        def use_case() -> list[dict[str, Any]]:
            with page.store.unit_of_work(write=False) as uow:
                found = search_customers(uow, q, actor=page.actor, settings=page.settings)
                uow.commit()
                return found

        results = await run_in_threadpool(use_case)
    partial = request.headers.get("HX-Request") == "true"
    return templates.TemplateResponse(
        request,
        "results.html" if partial else "customers.html",
        {"page": page, "q": q, "results": results},
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
async def customer_page(request: Request, customer_id: str, page: PageContext) -> HTMLResponse:
    """The 360° view: the profile by kind of data, identities, quality, consents, segments,
    scores and the latest activity — as the role may see it; the view is audited."""

    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            profile = get_customer(uow, customer_id, actor=page.actor, settings=page.settings)
            activity = timeline(
                uow, customer_id, actor=page.actor, settings=page.settings, limit=20
            )
            consents = consent_state(uow, customer_id, actor=page.actor)
            stays = segments_of(uow, customer_id)
            scores = uow.analytics.scores_of(customer_id)
            merges = merge_history(uow, customer_id)
            uow.commit()
            return {
                "profile": profile,
                "activity": activity.data,
                "consents": consents["current"],
                "stays": stays,
                "scores": scores,
                "merges": merges,
            }

    data = await run_in_threadpool(use_case)
    profile = data["profile"]
    sections = [
        (title, [(f, _shown(profile[f])) for f in fields if profile.get(f) not in _EMPTY])
        for title, fields in SECTIONS
    ]
    return templates.TemplateResponse(
        request,
        "customer.html",
        {
            "page": page,
            "sections": sections,
            "saved": request.query_params.get("saved") == "1",
            "unmerged": request.query_params.get("unmerged"),
            "can_edit": policy.allowed(page.actor, "customers.write"),
            "can_unmerge": policy.allowed(page.actor, "merges.write"),
            "can_audit": policy.allowed(page.actor, "audit.read"),
            "can_privacy": policy.allowed(page.actor, "privacy.requests"),
            **data,
        },
    )


_EMPTY: tuple[Any, ...] = (None, "", [], {})


@router.post("/customers/{customer_id}/unmerge", response_model=None)
async def unmerge_page(
    request: Request,
    customer_id: str,
    page: PageContext,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    merge_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Undo one of the merges into this profile (the 360 page's merge history)."""
    page.check_csrf(csrf_token)

    def use_case() -> str:
        with page.store.unit_of_work() as uow:
            result = unmerge(
                uow, merge_id, actor=page.actor, settings=page.settings, into=customer_id
            )
            uow.commit()
            return result.restored_id

    restored = await run_in_threadpool(use_case)
    return RedirectResponse(f"/customers/{customer_id}?unmerged={restored}", status_code=303)


def _shown(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:  # money
        return f"{value['amount']} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


#: what the edit form offers (the API takes every field)
EDITABLE: tuple[tuple[str, str, str], ...] = (
    ("given_name", N_("Given name"), "text"),
    ("family_name", N_("Family name"), "text"),
    ("email", N_("E-mail"), "email"),
    ("phone", N_("Phone"), "tel"),
    ("birth_date", N_("Birth date"), "date"),
    ("address_line1", N_("Address"), "text"),
    ("city", N_("City"), "text"),
    ("region", N_("Region"), "text"),
    ("postal_code", N_("Postal code"), "text"),
    ("country", N_("Country (ISO code)"), "text"),
    ("occupation", N_("Occupation"), "text"),
)


@router.get("/customers/{customer_id}/edit", response_class=HTMLResponse)
async def edit_page(request: Request, customer_id: str, page: PageContext) -> HTMLResponse:
    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            profile = get_customer(uow, customer_id, actor=page.actor, settings=page.settings)
            uow.commit()
            return profile

    profile = await run_in_threadpool(use_case)
    values = {
        name: "" if profile.get(name) is None else str(profile[name]) for name, _, _ in EDITABLE
    }
    return templates.TemplateResponse(
        request,
        "edit.html",
        {"page": page, "profile": profile, "fields": EDITABLE, "values": values, "errors": {}},
    )


@router.post("/customers/{customer_id}/edit", response_model=None)
async def edit(request: Request, customer_id: str, page: PageContext) -> Response:
    """All of the change or none of it; errors are shown beside their fields."""
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    submitted = {name: str(form.get(name, "")).strip() for name, _, _ in EDITABLE}
    version = str(form.get("version", ""))

    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work() as uow:
            current = get_customer(uow, customer_id, actor=page.actor, settings=page.settings)
            changes = {
                name: (value or None)
                for name, value in submitted.items()
                if value != ("" if current.get(name) is None else str(current[name]))
            }
            update_customer(
                uow,
                customer_id,
                changes,
                actor=page.actor,
                settings=page.settings,
                expected_version=int(version) if version.isdigit() else None,
                source="web",
            )
            uow.commit()
            return current

    try:
        await run_in_threadpool(use_case)
    except ValidationFailed as exc:
        errors = {error.field: error.message for error in exc.errors}

        def reread() -> dict[str, Any]:
            with page.store.unit_of_work(write=False) as uow:
                found = get_customer(uow, customer_id, actor=page.actor, settings=page.settings)
                uow.commit()
                return found

        profile = await run_in_threadpool(reread)
        return templates.TemplateResponse(
            request,
            "edit.html",
            {
                "page": page,
                "profile": profile,
                "fields": EDITABLE,
                "values": submitted,
                "errors": errors,
                "detail": exc.detail,
            },
            status_code=422,
        )
    return RedirectResponse(f"/customers/{customer_id}?saved=1", status_code=303)


# --- audit log (DPO, admin) ----------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    page: PageContext,
    customer_id: Annotated[str, Query(max_length=36)] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Who read or changed whose data, newest first (never the values); the search is itself
    audited. Verification walks the whole sealed chain."""
    entries: list[dict[str, Any]] | None = None
    if customer_id or actor:

        def use_case() -> list[dict[str, Any]]:
            with page.store.unit_of_work(write=False) as uow:
                found = audit_service.search(
                    uow,
                    page.actor,
                    customer_id=customer_id or None,
                    by=actor or None,
                    limit=5000,
                )
                uow.commit()
                return found

        entries = list(reversed(await run_in_threadpool(use_case)))[:500]
    return templates.TemplateResponse(
        request,
        "audit.html",
        {
            "page": page,
            "entries": entries,
            "customer_id": customer_id,
            "actor": actor,
            "verification": None,
        },
    )


@router.post("/audit/verify", response_class=HTMLResponse)
async def audit_verify(
    request: Request, page: PageContext, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> HTMLResponse:
    page.check_csrf(csrf_token)

    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            return audit_service.verify_chain(uow).as_dict()

    verification = await run_in_threadpool(use_case)
    return templates.TemplateResponse(
        request,
        "audit.html",
        {
            "page": page,
            "entries": None,
            "customer_id": "",
            "actor": "",
            "verification": verification,
        },
    )


# --- privacy requests (DPO) -------------------------------------------------------------------

REQUEST_KINDS = (
    ("access", N_("Access (a copy of their data)")),
    ("portability", N_("Portability")),
    ("confirmation", N_("Confirmation that data is held")),
    ("sharing_info", N_("Who the data is shared with")),
    ("erasure", N_("Erasure")),
    ("objection", N_("Objection")),
    ("opt_out", N_("Opt-out of sale or sharing")),
)


@router.get("/privacy/requests", response_class=HTMLResponse)
async def requests_page(request: Request, page: PageContext) -> HTMLResponse:
    def use_case() -> list[dict[str, Any]]:
        with page.store.unit_of_work(write=False) as uow:
            return privacy_requests.list_requests(uow, open_only=False)

    found = await run_in_threadpool(use_case)
    return templates.TemplateResponse(
        request,
        "requests.html",
        {"page": page, "requests": found, "kinds": REQUEST_KINDS, "error": None, "form": {}},
    )


@router.post("/privacy/requests", response_model=None)
async def create_request(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    submitted = {
        name: str(form.get(name, "")).strip()
        for name in ("kind", "identity_kind", "identity", "jurisdiction")
    }

    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work() as uow:
            try:
                identity = normalise_identity(
                    submitted["identity_kind"],
                    submitted["identity"],
                    region=page.settings.default_region,
                )
            except InvalidValue as exc:
                raise ValidationFailed(
                    N_("The identity is not valid."), errors=[FieldError("identity", exc.message)]
                ) from None
            created = privacy_requests.create_request(
                uow,
                kind=submitted["kind"],
                identity=identity,
                actor=page.actor,
                settings=page.settings,
                jurisdiction=submitted["jurisdiction"] or None,
            )
            uow.commit()
            return created

    try:
        created = await run_in_threadpool(use_case)
    except ValidationFailed as exc:

        def listed() -> list[dict[str, Any]]:
            with page.store.unit_of_work(write=False) as uow:
                return privacy_requests.list_requests(uow, open_only=False)

        return templates.TemplateResponse(
            request,
            "requests.html",
            {
                "page": page,
                "requests": await run_in_threadpool(listed),
                "kinds": REQUEST_KINDS,
                "error": error_text(request, exc),
                "form": submitted,
            },
            status_code=422,
        )
    return RedirectResponse(f"/privacy/requests/{created['id']}", status_code=303)


@router.get("/privacy/requests/{request_id}", response_class=HTMLResponse)
async def request_page(request: Request, request_id: str, page: PageContext) -> HTMLResponse:
    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            return privacy_requests.get_request(uow, request_id)

    found = await run_in_threadpool(use_case)
    return templates.TemplateResponse(request, "request.html", {"page": page, "request_row": found})


@router.post("/privacy/requests/{request_id}/run", response_model=None)
async def run_request(
    request: Request,
    request_id: str,
    page: PageContext,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Carry the request out, the DPO attesting the requester's identity."""
    page.check_csrf(csrf_token)
    await run_in_threadpool(
        lambda: privacy_requests.run_request(
            page.store, request_id, actor=page.actor, settings=page.settings, attest_identity=True
        )
    )
    return RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)


@router.get("/privacy/requests/{request_id}/bundle", response_model=None)
async def request_bundle(request_id: str, page: PageContext) -> Response:
    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            return privacy_requests.get_request(uow, request_id)

    found = await run_in_threadpool(use_case)
    path = (found["result"] or {}).get("bundle")
    if not path or not Path(path).exists():
        raise NotFound(
            N_("This request has no bundle (not run, not an access request, or erased).")
        )
    return FileResponse(path, media_type="application/zip", filename=f"{request_id}.zip")


# --- segments ---------------------------------------------------------------------------------

BUILDER_ROWS = 4
OPERATORS = (
    ("eq", N_("is")),
    ("ne", N_("is not")),
    ("in", N_("is one of (comma-separated)")),
    ("contains", N_("contains")),
    ("starts_with", N_("starts with")),
    ("gt", N_("more than")),
    ("gte", N_("at least")),
    ("lt", N_("less than")),
    ("lte", N_("at most")),
    ("between", N_("between (a, b)")),
    ("within_days", N_("within the last N days")),
    ("older_than_days", N_("more than N days ago")),
    ("is_empty", N_("is empty")),
    ("not_empty", N_("is not empty")),
)


def _builder_fields() -> list[str]:
    """The fields the builder's menus offer (the page shows each by its label)."""
    fields = list(FIELD_TYPES)
    fields += [f"identity.{k}" for k in ("email", "phone")]
    fields += [f"score.{k}" for k in SCORE_TYPES]
    return fields


def _typed(kind: str, op: str, text: str) -> Any:
    """A value typed in the builder, as the rule tree wants it (checked again by the domain)."""
    if op in ("is_empty", "not_empty"):
        return None
    if op in ("within_days", "older_than_days"):
        return int(text) if text.strip().isdigit() else text
    if op in ("in", "not_in", "between"):
        return [_typed(kind, "eq", part) for part in text.split(",")]
    text = text.strip()
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    if kind == "boolean":
        return {"true": True, "yes": True, "false": False, "no": False}.get(text.lower(), text)
    return text


def _definition_from(form: Any) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The rule tree of the builder's rows (empty rows ignored), or of the text form."""
    rows = [
        {
            "field": str(form.get(f"field_{i}", "")),
            "op": str(form.get(f"op_{i}", "")),
            "value": str(form.get(f"value_{i}", "")),
        }
        for i in range(BUILDER_ROWS)
    ]
    text = str(form.get("text", "")).strip()
    if text:
        return from_text(text), rows
    kinds = {**FIELD_TYPES, **{f"score.{k}": v for k, v in SCORE_TYPES.items()}}
    conditions = []
    for row in rows:
        if not row["field"]:
            continue
        kind = kinds.get(row["field"], "text")
        condition: dict[str, Any] = {"field": row["field"], "op": row["op"]}
        value = _typed(kind, row["op"], row["value"])
        if value is not None:
            condition["value"] = value
        conditions.append(condition)
    if not conditions:
        return None, rows
    mode = "any" if form.get("mode") == "any" else "all"
    return (conditions[0] if len(conditions) == 1 else {mode: conditions}), rows


def _segments_context(page: Page, **extra: Any) -> dict[str, Any]:
    can_export = policy.allowed(page.actor, "exports.audience")
    with page.store.unit_of_work(write=False) as uow:
        saved = list_segments(uow)
        purposes = register.list_purposes(uow) if can_export else []
    return {
        "page": page,
        "saved": saved,
        "can_export": can_export,
        "purposes": purposes,
        "fields": _builder_fields(),
        "operators": OPERATORS,
        "rows": [{"field": "", "op": "eq", "value": ""} for _ in range(BUILDER_ROWS)],
        "count": None,
        "error": None,
        "form": {},
        "to_text": to_text,
        **extra,
    }


@router.get("/segments", response_class=HTMLResponse)
async def segments_page(request: Request, page: PageContext) -> HTMLResponse:
    context = await run_in_threadpool(_segments_context, page)
    return templates.TemplateResponse(request, "segments.html", context)


@router.post("/segments", response_model=None)
async def segments_action(request: Request, page: PageContext) -> Response:
    """``action=count`` answers how many people the definition selects (with htmx, only the
    count is swapped in, live); ``action=save`` saves and materialises it."""
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", "count"))
    submitted = {name: str(form.get(name, "")) for name in ("key", "name", "text", "mode")}
    partial = request.headers.get("HX-Request") == "true"

    def use_case() -> dict[str, Any]:
        definition, rows = _definition_from(form)
        if definition is None:
            raise ValidationFailed(
                N_("Add a condition first."), errors=[FieldError("field_0", N_("choose a field"))]
            )
        with page.store.unit_of_work(write=action == "save") as uow:
            if action == "save":
                policy.check(page.actor, "segments.manage")
                create_segment(
                    uow,
                    {
                        "key": submitted["key"].strip(),
                        "name": submitted["name"].strip(),
                        "definition": definition,
                    },
                    actor=page.actor,
                )
                result = materialise_segment(uow, submitted["key"].strip(), actor=page.actor)
                uow.commit()
                return {"saved": result, "rows": rows}
            return {
                "count": count_segment(uow, definition),
                "rows": rows,
                "text": to_text(definition),
            }

    try:
        outcome = await run_in_threadpool(use_case)
    except ValidationFailed as exc:
        error = error_text(request, exc)
        if partial:
            return HTMLResponse(
                f'<p class="error" role="alert">{escape(error)}</p>', status_code=422
            )
        _, rows = _definition_from(form) if not submitted["text"] else (None, [])
        context = await run_in_threadpool(
            lambda: _segments_context(page, error=error, form=submitted)
        )
        if rows:
            context["rows"] = rows
        return templates.TemplateResponse(request, "segments.html", context, status_code=422)
    if "saved" in outcome:
        return RedirectResponse(f"/segments?saved={submitted['key'].strip()}", status_code=303)
    if partial:
        return templates.TemplateResponse(request, "segment_count.html", outcome)
    context = await run_in_threadpool(
        lambda: _segments_context(
            page, form=submitted, rows=outcome["rows"], count=outcome["count"], text=outcome["text"]
        )
    )
    return templates.TemplateResponse(request, "segments.html", context)


# --- duplicates review -----------------------------------------------------------------------

PAIR_FIELDS = (
    "full_name",
    "email",
    "phone",
    "document",
    "birth_date",
    "address_line1",
    "city",
    "postal_code",
    "country",
    "created_at",
)


@router.get("/duplicates", response_class=HTMLResponse)
async def duplicates_page(request: Request, page: PageContext) -> HTMLResponse:
    """The next pending pair, side by side (as the role may see them), with how each field
    weighed in the model's score."""

    def use_case() -> dict[str, Any]:
        with page.store.unit_of_work(write=False) as uow:
            pending, _ = dedupe_review.list_candidates(uow, limit=1)
            counts = dedupe_review.queue_counts(uow)
            pair = pending[0] if pending else None
            profiles = []
            if pair is not None:
                profiles = [
                    get_customer(uow, pair[side], actor=page.actor, settings=page.settings)
                    for side in ("left_id", "right_id")
                ]
            uow.commit()
            return {"pair": pair, "profiles": profiles, "counts": counts}

    data = await run_in_threadpool(use_case)
    return templates.TemplateResponse(
        request, "duplicates.html", {"page": page, "fields": PAIR_FIELDS, **data}
    )


@router.post("/duplicates/{candidate_id}", response_model=None)
async def decide_duplicate(
    candidate_id: str,
    page: PageContext,
    decision: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    page.check_csrf(csrf_token)
    if decision not in ("merge", "reject"):
        raise ValidationFailed(
            N_("Choose merge or not a duplicate."),
            errors=[FieldError("decision", "merge or reject")],
        )

    def use_case() -> None:
        with page.store.unit_of_work() as uow:
            dedupe_review.decide(
                uow,
                candidate_id,
                accept=decision == "merge",
                actor=page.actor,
                settings=page.settings,
            )
            uow.commit()

    await run_in_threadpool(use_case)
    return RedirectResponse(f"/duplicates?decided={decision}", status_code=303)


def page_error(request: Request, exc: ClientelaError) -> HTMLResponse:
    """An error on a page, said plainly, with what to do next."""
    advice = {
        401: N_("Sign in again."),
        403: N_("Ask an administrator for a role that may see this."),
        404: N_("Check the address, or search again."),
    }.get(exc.status, N_("Go back and try again; if it goes on, tell your administrator."))
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": exc.title, "detail": error_text(request, exc), "advice": advice},
        status_code=exc.status if not isinstance(exc, Unauthorized) else 401,
    )
