"""The authorisation matrix: every route of the application × every role, from the route
table itself, so a route added without a policy fails the build; and field masking per role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.domain.actor import Actor
from clientela.security import policy
from clientela.security.apikeys import _ROLE_SCOPES, ROLES
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.conftest import api_key_for

PLACEHOLDER_ID = "00000000-0000-7000-8000-000000000000"


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(), Store("sqlite://", keyring=factories.TEST_KEYRING))
    return set(policy.walk_routes(app.routes)) - {("GET", "/static"), ("GET", "/api/docs/static")}


def test_every_route_has_a_policy_and_every_policy_a_route() -> None:
    routes = _app_routes()
    missing = sorted(routes - set(policy.ROUTES))
    assert not missing, f"routes without a policy in security/policy.py ROUTES: {missing}"
    stale = sorted(set(policy.ROUTES) - routes)
    assert not stale, f"policies for routes that do not exist: {stale}"
    assert set(policy.ROUTES.values()) - {policy.PUBLIC, policy.WRITE_KEY, policy.SESSION} <= set(
        policy.PERMISSIONS
    )


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    from tests.conftest import _migrate

    path = tmp_path_factory.mktemp("matrix") / "clientela.db"
    _migrate(f"sqlite+pysqlite:///{path}")
    store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
    app = create_app(Settings(data_dir=path.parent, dedupe_u_max_pairs=1e4), store)
    with TestClient(app) as client:
        yield {
            role: TestClient(app, headers={"Authorization": f"Bearer {api_key_for(store, role)}"})
            for role in ROLES
        } | {"": client}
    store.dispose()


def _url(path: str) -> str:
    for name in (
        "customer_id",
        "key",
        "import_id",
        "candidate_id",
        "merge_id",
        "request_id",
        "report_id",
        "policy_id",
        "hold_id",
    ):
        path = path.replace("{" + name + "}", PLACEHOLDER_ID if name != "key" else "some_key")
    return path.replace("{purpose}", "some_purpose")


def _is_page(path: str) -> bool:
    return not (path.startswith("/api") or path.startswith("/v1"))


MATRIX = [
    (method, path, role)
    for (method, path), permission in sorted(policy.ROUTES.items())
    if permission not in (policy.PUBLIC, policy.WRITE_KEY, policy.SESSION) and not _is_page(path)
    for role in ROLES
]
PAGES = [
    (method, path, role)
    for (method, path), permission in sorted(policy.ROUTES.items())
    if permission not in (policy.PUBLIC, policy.WRITE_KEY, policy.SESSION) and _is_page(path)
    for role in ROLES
]


@pytest.mark.parametrize(("method", "path", "role"), MATRIX)
def test_each_role_gets_exactly_what_the_policy_grants(
    clients: dict[str, TestClient], method: str, path: str, role: str
) -> None:
    permission = policy.ROUTES[(method, path)]
    actor = Actor("api_key", "k", role, frozenset(_ROLE_SCOPES[role]))
    # An invalid body: an allowed call fails validation (422) or finds nothing (404) — it is
    # never run — while a refused one is stopped before the body is looked at.
    response = clients[role].request(method, _url(path), json={"__probe__": True})
    if policy.allowed(actor, permission):
        assert response.status_code != 403, (role, method, path, response.text)
    else:
        assert response.status_code == 403, (role, method, path, response.status_code)
    anonymous = clients[""].request(method, _url(path), json={})
    assert anonymous.status_code == 401


def test_fields_are_masked_or_hidden_by_role(store: Store, settings: Settings) -> None:
    person = factories.stored_customer(
        store, settings, email="joana.silva@gmail.com", document=factories.cpf(42)
    )
    app = create_app(settings, store)
    seen: dict[str, Any] = {}
    with TestClient(app) as client:
        for role in ("admin", "support", "analyst", "marketer", "viewer"):
            token = api_key_for(store, role)
            response = client.get(
                f"/api/v1/customers/{person['id']}", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, response.text
            seen[role] = response.json()
    assert seen["admin"]["email"] == "joana.silva@gmail.com"
    assert seen["admin"]["document"] == person["document"]
    assert seen["support"]["email"] == "joana.silva@gmail.com"
    assert seen["support"]["document"].endswith(person["document"][-2:])
    assert seen["support"]["document"] != person["document"]
    assert seen["analyst"]["email"] == "j***@g***.com"
    assert seen["analyst"]["document"] is None
    assert seen["analyst"]["birth_date"] is None
    assert all(i["kind"] != "document" for i in seen["analyst"]["identities"])
    assert all(i["value"] != "joana.silva@gmail.com" for i in seen["analyst"]["identities"])
    assert seen["marketer"]["email"] == "joana.silva@gmail.com"
    assert seen["marketer"]["document"] is None
    assert seen["viewer"]["given_name"] == "A***"
    assert seen["analyst"]["quality_score"] == seen["admin"]["quality_score"]


@pytest.fixture(scope="module")
def page_clients(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """A signed-in browser session per role (MFA done where the role needs it), with the
    session's CSRF token."""
    import re
    import time

    import pyotp

    from tests.conftest import _migrate

    path = tmp_path_factory.mktemp("pages") / "clientela.db"
    _migrate(f"sqlite+pysqlite:///{path}")
    store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
    app = create_app(Settings(data_dir=path.parent), store)
    sessions: dict[str, tuple[TestClient, str]] = {}
    for role in ROLES:
        account = factories.user(store, role, f"{role}@example.com", mfa=role in ("admin", "dpo"))
        client = TestClient(app)
        client.post("/sign-in", data={"email": account["email"], "password": account["password"]})
        if account["totp_secret"]:
            code = pyotp.TOTP(account["totp_secret"]).at(int(time.time()) + 30)
            client.post("/sign-in/mfa", data={"code": code})
        # the session's form token, from any page that shows it
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/customers").text)
        sessions[role] = (client, found.group(1) if found else "")
    sessions[""] = (TestClient(app), "")
    yield sessions
    store.dispose()


@pytest.mark.parametrize(("method", "path", "role"), PAGES)
def test_each_role_on_each_page(
    page_clients: dict[str, tuple[TestClient, str]], method: str, path: str, role: str
) -> None:
    """Pages use the same table with a session: refused roles get a 403 page, anonymous
    visitors the sign-in page."""
    permission = policy.ROUTES[(method, path)]
    actor = Actor("user", "u", role)
    client, csrf = page_clients[role]
    response = client.request(
        method, _url(path), data={"csrf_token": csrf} if method == "POST" else None
    )
    if policy.allowed(actor, permission):
        assert response.status_code != 403, (role, method, path, response.text)
    else:
        assert response.status_code == 403, (role, method, path, response.status_code)
    anonymous, _ = page_clients[""]
    refused = anonymous.request(method, _url(path), follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/sign-in")
