"""The web application's pages: server-rendered, usable without JavaScript (htmx, when the
front-end packages are installed, turns the search into search-as-you-type).

Every page goes through ``web.auth.page_context`` (session, MFA, the policy table) and every
use case through the same services as the API, so masking and the audit log are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from clientela import __version__
from clientela.api.deps import SESSION_COOKIE, get_store
from clientela.customers.service import count_active, get_customer, search_customers, timeline
from clientela.domain.errors import ClientelaError, Unauthorized
from clientela.privacy.consent import consent_state
from clientela.security import users
from clientela.segments.service import segments_of
from clientela.storage.store import Store
from clientela.web.auth import Page, page_context

STATIC_DIR = Path(__file__).parent / "static"
#: front-end packages installed from the npm registry by ``make assets`` (never committed)
VENDOR_DIR = Path(__file__).resolve().parents[2] / "frontend" / "node_modules"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["version"] = __version__
templates.env.globals["has_htmx"] = (VENDOR_DIR / "htmx.org" / "dist" / "htmx.min.js").exists()
router = APIRouter(include_in_schema=False)

PageContext = Annotated[Page, Depends(page_context)]

#: the profile on the 360 page, by the five kinds of data
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Personal and contact",
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
        "Demographic",
        ("occupation", "education", "income_band", "marital_status", "household_size"),
    ),
    ("Behavioural", ("preferred_channel", "first_seen_at", "last_seen_at", "event_count")),
    ("Psychographic", ("interests", "values", "lifestyle")),
    (
        "Transactional",
        (
            "order_count",
            "total_revenue",
            "first_order_at",
            "last_order_at",
            "preferred_payment_method",
        ),
    ),
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
    _set_cookie(request, response, signed.token)
    return response


@router.get("/sign-in/mfa", response_class=HTMLResponse)
def mfa_page(request: Request, next: str | None = None) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "mfa.html", {"next": _safe_next(next), "error": None}
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
    _set_cookie(request, response, signed.token)
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


def _set_cookie(request: Request, response: Response, token: str) -> None:
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
            uow.commit()
            return {
                "profile": profile,
                "activity": activity.data,
                "consents": consents["current"],
                "stays": stays,
                "scores": scores,
            }

    data = await run_in_threadpool(use_case)
    profile = data["profile"]
    sections = [
        (title, [(f, _shown(profile[f])) for f in fields if profile.get(f) not in _EMPTY])
        for title, fields in SECTIONS
    ]
    return templates.TemplateResponse(
        request, "customer.html", {"page": page, "sections": sections, **data}
    )


_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _shown(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:  # money
        return f"{value['amount']} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def page_error(request: Request, exc: ClientelaError) -> HTMLResponse:
    """An error on a page, said plainly, with what to do next."""
    advice = {
        401: "Sign in again.",
        403: "Ask an administrator for a role that may see this.",
        404: "Check the address, or search again.",
    }.get(exc.status, "Go back and try again; if it goes on, tell your administrator.")
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": exc.title, "detail": exc.detail, "advice": advice},
        status_code=exc.status if not isinstance(exc, Unauthorized) else 401,
    )
