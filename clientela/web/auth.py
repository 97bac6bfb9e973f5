"""Who is looking at a page: the session cookie, checked by the same policy table as the API.

A page without a valid session sends the browser to the sign-in page (remembering where it was
going); a session still waiting for its MFA code goes to the code page; a role without the
page's permission gets a page that says so. Forms that change something carry the session's
CSRF token in a hidden ``csrf_token`` field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from clientela.api.deps import SESSION_COOKIE, route_permission
from clientela.domain.actor import Actor
from clientela.domain.errors import Unauthorized
from clientela.security import policy, users
from clientela.settings import Settings
from clientela.storage.store import Store

__all__ = ["Page", "SignInNeeded", "page_context"]

#: the pages a person whose password must change may still open
_OPEN_UNTIL_CHANGED = frozenset({"/account", "/sign-out"})


class SignInNeeded(Exception):
    """Send the browser to ``location`` (the sign-in or the code page)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


@dataclass(frozen=True)
class Page:
    store: Store
    settings: Settings
    actor: Actor
    csrf_token: str
    user: dict[str, Any]

    def check_csrf(self, token: str | None) -> None:
        users.check_csrf({"csrf_token": self.csrf_token}, token)


def _page_permission(request: Request) -> str | None:
    """The page's permission; None for pages any signed-in person may use (sign-out)."""
    route = request.scope.get("route")
    if policy.ROUTES.get((request.method, str(getattr(route, "path", "")))) == policy.SESSION:
        return None
    return route_permission(request)  # refuses a page the policy table does not name


async def page_context(request: Request) -> AsyncIterator[Page]:
    permission = _page_permission(request)
    token = request.cookies.get(SESSION_COOKIE)
    back = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if not token:
        raise SignInNeeded(f"/sign-in?next={back}")
    store: Store = request.app.state.store
    ip = request.client.host if request.client else None
    request_id = getattr(request.state, "request_id", None)

    def who() -> tuple[Actor, dict[str, Any], dict[str, Any]]:
        with store.unit_of_work(write=False) as uow:
            try:
                actor, session = users.session_actor(uow, token, ip=ip, request_id=request_id)
            except Unauthorized:
                try:
                    users.session_actor(
                        uow, token, ip=ip, request_id=request_id, allow_pending_mfa=True
                    )
                except Unauthorized:
                    raise SignInNeeded(f"/sign-in?next={back}") from None
                raise SignInNeeded(f"/sign-in/mfa?next={back}") from None
            user = uow.users.get(actor.id) or {}
            uow.commit()
            return actor, session, user

    actor, session, user = await run_in_threadpool(who)
    if user.get("language"):
        request.state.language = user["language"]  # the user's setting beats the browser's
    if user.get("must_change_password") and request.url.path not in _OPEN_UNTIL_CHANGED:
        # a password someone else saw (the one `clientela init` printed) is changed first
        raise SignInNeeded("/account?change=password")
    if permission is not None:
        policy.check(actor, permission)
    yield Page(
        store=store,
        settings=request.app.state.settings,
        actor=actor,
        csrf_token=str(session["csrf_token"]),
        user={
            "email": user.get("email", ""),
            "role": actor.role,
            "language": user.get("language"),
            "mfa": user.get("mfa_enabled_at") is not None,
            "must_change_password": bool(user.get("must_change_password")),
        },
    )
