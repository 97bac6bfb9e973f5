"""Each person's account page: a new password, the pages' language, two-factor sign-in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.api.deps import SESSION_COOKIE
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import csrf, signed_in

NEW_PASSWORD = "a quite long new passphrase 42"


def test_a_new_password_needs_the_current_one_and_ends_the_other_sessions(
    store: Store, settings: Settings
) -> None:
    analyst = factories.user(store, "analyst", "bia@example.com")
    app = create_app(settings, store)
    with TestClient(app) as client, TestClient(app) as elsewhere:
        signed_in(client, analyst, "/account")
        signed_in(elsewhere, analyst, "/account")
        token = csrf(client.get("/account").text)
        change = {
            "csrf_token": token,
            "action": "password",
            "current_password": analyst["password"],
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD + "!",
        }
        mismatch = client.post("/account", data=change)
        assert mismatch.status_code == 422
        assert "repeat_password: is not the same as the new password" in mismatch.text
        wrong = client.post(
            "/account",
            data={**change, "current_password": "not it", "repeat_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 401
        old_cookie = client.cookies.get(SESSION_COOKIE)
        done = client.post(
            "/account", data={**change, "repeat_password": NEW_PASSWORD}, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"] == "/account?done=password"
        assert client.cookies.get(SESSION_COOKIE) != old_cookie
        assert (
            "Every other session of this account has ended."
            in client.get(done.headers["location"]).text
        )
        # the other browser's session ended with the old password
        assert "/sign-in" in str(elsewhere.get("/account").url)
    with TestClient(app) as fresh:
        signed_in(fresh, {**analyst, "password": NEW_PASSWORD}, "/account")


def test_the_account_page_offers_two_factor_sign_in_until_it_is_on(
    store: Store, settings: Settings
) -> None:
    without = factories.user(store, "marketer", "caio@example.com")
    with_mfa = factories.user(store, "admin", "root@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, without, "/account")
        page = client.get("/account").text
        assert 'data-mfa="off"' in page and 'action="/sign-in/mfa/enrol"' in page
        enrol = client.post(
            "/sign-in/mfa/enrol", data={"password": without["password"], "next": "/account"}
        )
        assert enrol.status_code == 200 and "data-secret=" in enrol.text
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, with_mfa, "/account")
        assert 'data-mfa="on"' in client.get("/account").text


def test_the_account_page_refuses_a_forged_form(store: Store, settings: Settings) -> None:
    support = factories.user(store, "support", "ana@example.com")
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, support, "/account")
        forged = client.post("/account", data={"csrf_token": "nope", "action": "language"})
        assert forged.status_code == 403
        token = csrf(client.get("/account").text)
        unknown = client.post("/account", data={"csrf_token": token, "action": "delete"})
        assert unknown.status_code == 422 and "action: not one of this page" in unknown.text


def test_a_password_someone_else_saw_is_changed_before_anything_else(
    store: Store, settings: Settings
) -> None:
    analyst = factories.user(store, "analyst", "bia@example.com")
    with store.unit_of_work() as uow:  # as `clientela init` leaves its first admin
        uow.users.update(analyst["id"], {"must_change_password": True})
        uow.commit()
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, analyst, "/account")
        held = client.get("/dashboard", follow_redirects=False)
        assert held.status_code == 303 and held.headers["location"] == "/account?change=password"
        page = client.get("/account").text
        assert "data-must-change" in page
        client.post(
            "/account",
            data={
                "csrf_token": csrf(page),
                "action": "password",
                "current_password": analyst["password"],
                "new_password": NEW_PASSWORD,
                "repeat_password": NEW_PASSWORD,
            },
        )
        assert client.get("/dashboard", follow_redirects=False).status_code == 200
        assert "data-must-change" not in client.get("/account").text
