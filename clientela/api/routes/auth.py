"""/api/v1/auth: sign-in for people (the web application), MFA, sign-out.

The session token travels only in an HttpOnly, SameSite=Strict cookie (Secure in production);
requests that change something also carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from clientela.api.deps import SESSION_COOKIE
from clientela.api.problems import PROBLEM_RESPONSES, problem_description
from clientela.domain.errors import Unauthorized
from clientela.security import users
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

router = APIRouter(tags=["auth"], responses=PROBLEM_RESPONSES)

COOKIE = SESSION_COOKIE
SessionCookie = Annotated[str | None, Cookie(alias=COOKIE, max_length=100)]
_TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: problem_description("Too many failed attempts: wait (see `retry_after`)")
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInIn(_Body):
    email: StrictStr = Field(min_length=3, max_length=254)
    password: StrictStr = Field(min_length=1, max_length=1024)


class CodeIn(_Body):
    code: StrictStr = Field(min_length=6, max_length=32)


class PasswordIn(_Body):
    password: StrictStr = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    user_id: str
    role: str
    mfa_required: bool
    mfa_enrolment_required: bool
    csrf_token: str


class Enrolment(BaseModel):
    secret: str
    otpauth_uri: str


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


def _set_cookie(response: Response, request: Request, token: str) -> None:
    secure = request.url.scheme == "https" or request.app.state.settings.environment == "production"
    response.set_cookie(
        COOKIE, token, httponly=True, secure=secure, samesite="strict", path="/", max_age=12 * 3600
    )


async def _start(
    request: Request, response: Response, use_case: Callable[[], users.SignIn]
) -> dict[str, Any]:
    """Run a step that starts a session; set its cookie; answer with the CSRF token."""
    signed = await run_in_threadpool(use_case)
    _set_cookie(response, request, signed.token)
    return _session_out(signed)


async def _account_change(
    request: Request,
    response: Response,
    session: str | None,
    change: Callable[[UnitOfWork, str], users.SignIn],
) -> dict[str, Any]:
    """A change of the signed-in account (CSRF checked; it re-authenticates inside ``change``)
    that ends the other sessions and starts a new one."""
    store: Store = request.app.state.store
    if not session:
        raise Unauthorized("Sign in first.")
    token: str = session
    csrf = request.headers.get("x-csrf-token", "")

    def use_case() -> users.SignIn:
        with store.unit_of_work() as uow:
            _, current = users.session_actor(uow, token, ip=_ip(request), request_id=None)
            users.check_csrf(current, csrf)
            signed = change(uow, token)
            uow.commit()
            return signed

    return await _start(request, response, use_case)


def _session_out(signed: users.SignIn) -> dict[str, Any]:
    return {
        "user_id": signed.user_id,
        "role": signed.role,
        "mfa_required": signed.mfa_required,
        "mfa_enrolment_required": signed.mfa_enrolment_required,
        "csrf_token": signed.csrf_token,
    }


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    "/api/v1/auth/sign-in",
    response_model=SessionOut,
    summary="Sign in with e-mail and password",
    responses=_TOO_MANY,
)
async def sign_in(body: SignInIn, request: Request, response: Response) -> dict[str, Any]:
    store: Store = request.app.state.store

    def use_case() -> users.SignIn:
        with store.unit_of_work() as uow:
            try:
                signed = users.sign_in(uow, body.email, body.password, ip=_ip(request))
            except users.SignInRefused:
                uow.commit()  # the failure counts towards throttling
                raise
            uow.commit()
            return signed

    return await _start(request, response, use_case)


@router.post(
    "/api/v1/auth/mfa",
    response_model=SessionOut,
    summary="Finish signing in with an authenticator or recovery code",
)
async def mfa(
    body: CodeIn, request: Request, response: Response, session: SessionCookie = None
) -> dict[str, Any]:
    store: Store = request.app.state.store
    if not session:
        raise Unauthorized("Sign in first.")

    def use_case() -> users.SignIn:
        with store.unit_of_work() as uow:
            signed = users.verify_mfa(uow, session, body.code, ip=_ip(request))
            uow.commit()
            return signed

    return await _start(request, response, use_case)


def _pending_user(store: Store, session: str | None, request: Request) -> str:
    if not session:
        raise Unauthorized("Sign in first.")
    with store.unit_of_work(write=False) as uow:
        actor, _ = users.session_actor(
            uow, session, ip=_ip(request), request_id=None, allow_pending_mfa=True
        )
        uow.commit()
    return actor.id


@router.post(
    "/api/v1/auth/mfa/enrolment",
    response_model=Enrolment,
    summary="Start MFA enrolment (password again)",
)
async def start_enrolment(
    body: PasswordIn, request: Request, session: SessionCookie = None
) -> dict[str, str]:
    store: Store = request.app.state.store

    def use_case() -> dict[str, str]:
        user_id = _pending_user(store, session, request)
        with store.unit_of_work() as uow:
            started = users.start_mfa_enrolment(uow, user_id, password=body.password)
            uow.commit()
            return started

    return await run_in_threadpool(use_case)


@router.post(
    "/api/v1/auth/mfa/enrolment/confirm",
    response_model=RecoveryCodes,
    summary="Confirm MFA with a first code; recovery codes are shown once",
)
async def confirm_enrolment(
    body: CodeIn, request: Request, session: SessionCookie = None
) -> dict[str, list[str]]:
    store: Store = request.app.state.store

    def use_case() -> dict[str, list[str]]:
        user_id = _pending_user(store, session, request)
        with store.unit_of_work() as uow:
            codes = users.confirm_mfa(uow, user_id, body.code)
            uow.commit()
            return {"recovery_codes": codes}

    return await run_in_threadpool(use_case)


class PasswordChange(_Body):
    current_password: StrictStr = Field(min_length=1, max_length=1024)
    new_password: StrictStr = Field(min_length=1, max_length=1024)


@router.post(
    "/api/v1/auth/password",
    response_model=SessionOut,
    summary="Change the password (current one again); other sessions end",
)
async def change_password(
    body: PasswordChange, request: Request, response: Response, session: SessionCookie = None
) -> dict[str, Any]:
    return await _account_change(
        request,
        response,
        session,
        lambda uow, token: users.change_password(
            uow, token, body.current_password, body.new_password, ip=_ip(request)
        ),
    )


class EmailChange(_Body):
    password: StrictStr = Field(min_length=1, max_length=1024)
    email: StrictStr = Field(min_length=3, max_length=254)


@router.post(
    "/api/v1/auth/email",
    response_model=SessionOut,
    summary="Change the sign-in e-mail (password again); other sessions end",
)
async def change_email(
    body: EmailChange, request: Request, response: Response, session: SessionCookie = None
) -> dict[str, Any]:
    """The old address is told of the change."""
    return await _account_change(
        request,
        response,
        session,
        lambda uow, token: users.change_email(
            uow, token, body.password, body.email, ip=_ip(request)
        ),
    )


@router.post(
    "/api/v1/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="End the session"
)
async def sign_out(request: Request, session: SessionCookie = None) -> Response:
    store: Store = request.app.state.store
    if session:

        def use_case() -> None:
            with store.unit_of_work() as uow:
                users.end_session(uow, session)
                uow.commit()

        await run_in_threadpool(use_case)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(COOKIE, path="/")
    return response
