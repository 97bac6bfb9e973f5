"""The web pages without a browser: sign-in with MFA, the redirects, CSRF on sign-out, search,
the 360 page with masking, and errors that are pages."""

from __future__ import annotations

import re

import pyotp
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import signed_in


def test_pages_need_a_session_and_mfa(store: Store, settings: Settings) -> None:
    admin = factories.user(store, "admin", "admin@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        away = client.get("/customers", follow_redirects=False)
        assert away.status_code == 303
        assert away.headers["location"] == "/sign-in?next=/customers"
        wrong = client.post("/sign-in", data={"email": admin["email"], "password": "nope, not it"})
        assert wrong.status_code == 401
        assert "Wrong e-mail or password." in wrong.text
        client.post(
            "/sign-in",
            data={"email": admin["email"], "password": admin["password"]},
            follow_redirects=False,
        )
        # the password alone does not open pages: the code does
        pending = client.get("/customers", follow_redirects=False)
        assert pending.headers["location"].startswith("/sign-in/mfa")
        bad_code = client.post("/sign-in/mfa", data={"code": "000000"})
        assert bad_code.status_code == 401
        signed_in(client, admin)
        assert client.get("/customers").status_code == 200
        # sign-out needs the session's CSRF token
        page = client.get("/customers").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        refused = client.post("/sign-out", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        out = client.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.headers["location"] == "/sign-in"
        assert client.get("/customers", follow_redirects=False).status_code == 303


def test_search_and_the_360_page_as_each_role_may_see_them(
    store: Store, settings: Settings
) -> None:
    person = factories.joana_silva(store, settings, 7)
    support = factories.user(store, "support", "support@example.com")
    analyst = factories.user(store, "analyst", "analyst@example.com")
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, support)
        form = client.get("/customers").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        found = client.post("/customers", data={"q": "(81) 98765 4321", "csrf_token": csrf})
        assert person["id"] in found.text
        partial = client.post(
            "/customers", data={"q": "joana", "csrf_token": csrf}, headers={"HX-Request": "true"}
        )
        assert "<html" not in partial.text and person["id"] in partial.text
        forged = client.post("/customers", data={"q": "joana", "csrf_token": "forged"})
        assert forged.status_code == 403
        page = client.get(f"/customers/{person['id']}")
        assert page.status_code == 200
        assert "joana.silva@gmail.com" in page.text
        missing = client.get("/customers/01a205d6-314e-7000-aa27-f0ccaeba521f")
        assert missing.status_code == 404
        assert "Check the address" in missing.text
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, analyst)
        page = client.get(f"/customers/{person['id']}").text
        assert "j***@g***.com" in page
        assert "joana.silva@gmail.com" not in page
        assert 'data-field="document"' not in page
        assert factories.cpf(7) not in page
    with store.unit_of_work(write=False) as uow:
        reads = uow.audit.for_customer(person["id"])
    assert {"customer.read", "customer.search"} <= {entry["action"] for entry in reads}


def test_an_admin_without_mfa_enrols_at_first_sign_in(store: Store, settings: Settings) -> None:
    admin = factories.user(store, "admin", "new.admin@example.com")  # no MFA yet
    with TestClient(create_app(settings, store)) as client:
        client.post(
            "/sign-in",
            data={"email": admin["email"], "password": admin["password"], "next": "/customers"},
            follow_redirects=False,
        )
        assert client.get("/customers", follow_redirects=False).status_code == 303
        start = client.get("/sign-in/mfa?next=/customers")
        assert "Set up two-factor sign-in" in start.text
        refused = client.post("/sign-in/mfa/enrol", data={"password": "not the password"})
        assert refused.status_code == 401
        step = client.post(
            "/sign-in/mfa/enrol", data={"password": admin["password"], "next": "/customers"}
        )
        secret = re.search(r'data-secret="([A-Z2-7]+)"', step.text).group(1)  # type: ignore[union-attr]
        wrong = client.post("/sign-in/mfa/confirm", data={"code": "000000"})
        assert wrong.status_code == 401
        step = client.post(
            "/sign-in/mfa/enrol", data={"password": admin["password"], "next": "/customers"}
        )
        secret = re.search(r'data-secret="([A-Z2-7]+)"', step.text).group(1)  # type: ignore[union-attr]
        done = client.post(
            "/sign-in/mfa/confirm",
            data={"code": pyotp.TOTP(secret).now(), "next": "/customers"},
        )
        assert done.status_code == 200
        assert len(re.findall(r"<li><code>[0-9a-f]{8}-[0-9a-f]{8}</code></li>", done.text)) == 10
        assert client.get("/customers").status_code == 200


def test_an_admin_manages_users_and_keys(store: Store, settings: Settings) -> None:
    admin = factories.user(store, "admin", "root@example.com", mfa=True)
    support = factories.user(store, "support", "help@example.com")
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, admin, "/admin")
        page = client.get("/admin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        weak = client.post(
            "/admin",
            data={"csrf_token": csrf, "action": "create_user", "email": "x@example.com",
                  "role": "viewer", "password": "password123"},
        )  # fmt: skip
        assert weak.status_code == 422 and "password" in weak.text
        made = client.post(
            "/admin",
            data={"csrf_token": csrf, "action": "create_user", "email": "new@example.com",
                  "role": "marketer", "password": "a long unusual passphrase 7"},
            follow_redirects=False,
        )  # fmt: skip
        assert made.status_code == 303
        key = client.post(
            "/admin", data={"csrf_token": csrf, "action": "create_key", "name": "crm sync",
                            "role": "integration"},
        )  # fmt: skip
        token = re.search(r"<code data-token>(clk_[^<]+)</code>", key.text).group(1)  # type: ignore[union-attr]
        assert (
            client.get(
                "/api/v1/customers", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
        assert token not in client.get("/admin").text  # shown once
        client.post(
            "/admin", data={"csrf_token": csrf, "action": "disable_user", "email": support["email"]}
        )
        assert 'data-user="help@example.com"' in client.get("/admin").text
    with TestClient(create_app(settings, store)) as other:
        assert (
            other.post(
                "/sign-in", data={"email": support["email"], "password": support["password"]}
            ).status_code
            == 401
        )
