"""People and access: password rules, generic sign-in errors, throttling with growing delays,
TOTP MFA (each code once, recovery codes), sessions with CSRF, timeouts and disabling."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.domain.actor import utcnow
from clientela.domain.errors import Conflict, Unauthorized, ValidationFailed
from clientela.security import users
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories

PASSWORD = "correct horse battery staple 42"


def _user(store: Store, role: str, email: str) -> str:
    with store.unit_of_work() as uow:
        created = users.create_user(
            uow, email=email, role=role, password=PASSWORD, actor=factories.actor()
        )
        uow.commit()
    return str(created["id"])


def test_password_rules(store: Store) -> None:
    for password, code in (("short", "length"), ("password123", "common"), ("x" * 129, "length")):
        with store.unit_of_work() as uow, pytest.raises(ValidationFailed) as caught:
            users.create_user(
                uow,
                email="a@example.com",
                role="viewer",
                password=password,
                actor=factories.actor(),
            )
        assert caught.value.errors[0].code == code
    _user(store, "viewer", "a@example.com")
    with store.unit_of_work() as uow, pytest.raises(Conflict):
        users.create_user(
            uow, email="A@example.com", role="viewer", password=PASSWORD, actor=factories.actor()
        )


def _sign_in(store: Store, email: str, password: str, **kw: object) -> users.SignIn:
    with store.unit_of_work() as uow:
        try:
            signed = users.sign_in(uow, email, password, ip="10.0.0.1", **kw)  # type: ignore[arg-type]
        except users.SignInRefused:
            uow.commit()
            raise
        uow.commit()
        return signed


def test_generic_errors_and_growing_delays(store: Store) -> None:
    _user(store, "viewer", "v@example.com")
    with pytest.raises(Unauthorized) as unknown:
        _sign_in(store, "nobody@example.com", PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        _sign_in(store, "v@example.com", "not the password")
    assert unknown.value.detail == wrong.value.detail == "Wrong e-mail or password."
    now = utcnow()
    for n in range(4):
        with pytest.raises(users.SignInRefused):
            _sign_in(store, "v@example.com", "wrong again", now=now + timedelta(seconds=n))
    # five failures: the next try must wait, even with the right password
    with pytest.raises(users.TooManyAttempts) as waiting:
        _sign_in(store, "v@example.com", PASSWORD, now=now + timedelta(seconds=3.5))
    assert waiting.value.extra["retry_after"] >= 1
    signed = _sign_in(store, "v@example.com", PASSWORD, now=now + timedelta(seconds=10))
    assert signed.role == "viewer" and not signed.mfa_required


def test_an_hour_of_failures_locks_the_account(store: Store) -> None:
    _user(store, "viewer", "w@example.com")
    start = utcnow()
    with store.unit_of_work() as uow:
        account = users._account_hash(uow, "w@example.com")
        for n in range(users.ACCOUNT_FAILURES_PER_HOUR):
            uow.users.add_failure(account, f"10.1.{n // 250}.{n % 250}", start)
        uow.commit()
    with pytest.raises(users.TooManyAttempts):
        _sign_in(store, "w@example.com", PASSWORD, now=start + timedelta(minutes=30))
    _sign_in(store, "w@example.com", PASSWORD, now=start + timedelta(minutes=61))


def test_admins_enrol_mfa_and_codes_work_once(store: Store, settings: Settings) -> None:
    _user(store, "admin", "boss@example.com")
    app = create_app(settings, store)
    with TestClient(app) as client:
        first = client.post(
            "/api/v1/auth/sign-in", json={"email": "boss@example.com", "password": PASSWORD}
        )
        assert first.status_code == 200, first.text
        assert first.json()["mfa_enrolment_required"] is True
        assert "httponly" in first.headers["set-cookie"].lower()
        assert "samesite=strict" in first.headers["set-cookie"].lower()
        # Not enrolled yet: the session opens nothing.
        assert client.get("/api/v1/customers").status_code == 401
        enrol = client.post("/api/v1/auth/mfa/enrolment", json={"password": PASSWORD}).json()
        totp = pyotp.TOTP(enrol["secret"])
        assert len(enrol["secret"]) == 32  # 160 bits in base32
        first_code = totp.now()
        codes = client.post("/api/v1/auth/mfa/enrolment/confirm", json={"code": first_code}).json()[
            "recovery_codes"
        ]
        assert len(codes) == 10
        client.post("/api/v1/auth/sign-out")
        assert client.get("/api/v1/customers").status_code == 401

        again = client.post(
            "/api/v1/auth/sign-in", json={"email": "boss@example.com", "password": PASSWORD}
        )
        assert again.json()["mfa_required"] is True
        assert client.get("/api/v1/customers").status_code == 401
        # the code used to enrol cannot be used again (the same code: "now" may have moved on
        # to the next 30-second step, whose code is fresh and rightly accepted)
        assert client.post("/api/v1/auth/mfa", json={"code": first_code}).status_code == 401
        ok = client.post("/api/v1/auth/mfa", json={"code": codes[0]})
        assert ok.status_code == 200, ok.text
        assert client.get("/api/v1/customers").status_code == 200
        client.post("/api/v1/auth/sign-out", headers={"X-CSRF-Token": ok.json()["csrf_token"]})
        client.post(
            "/api/v1/auth/sign-in", json={"email": "boss@example.com", "password": PASSWORD}
        )
        assert client.post("/api/v1/auth/mfa", json={"code": codes[0]}).status_code == 401


def test_sessions_need_csrf_for_changes_and_end_when_disabled(
    store: Store, settings: Settings
) -> None:
    _user(store, "support", "help@example.com")
    app = create_app(settings, store)
    with TestClient(app) as client:
        signed = client.post(
            "/api/v1/auth/sign-in", json={"email": "help@example.com", "password": PASSWORD}
        ).json()
        assert client.get("/api/v1/customers").status_code == 200
        body = {"email": "new.person@example.com"}
        assert client.post("/api/v1/customers", json=body).status_code == 403
        made = client.post(
            "/api/v1/customers", json=body, headers={"X-CSRF-Token": signed["csrf_token"]}
        )
        assert made.status_code == 201, made.text
        # support may not run privacy requests
        assert client.get("/api/v1/privacy/requests").status_code == 403
        with store.unit_of_work() as uow:
            assert users.disable_user(uow, "help@example.com", actor=factories.actor()) == 1
            uow.commit()
        assert client.get("/api/v1/customers").status_code == 401


def test_idle_sessions_expire(store: Store) -> None:
    _user(store, "viewer", "idle@example.com")
    signed = _sign_in(store, "idle@example.com", PASSWORD)
    later = utcnow() + users.IDLE_TIMEOUT + timedelta(minutes=1)
    with store.unit_of_work(write=False) as uow, pytest.raises(Unauthorized, match="expired"):
        users.session_actor(uow, signed.token, ip=None, request_id=None, now=later)


def test_users_create_from_the_command_line(cli: object) -> None:
    from typer.testing import CliRunner

    from clientela.cli.main import app

    runner: CliRunner = cli  # type: ignore[assignment]
    assert runner.invoke(app, ["init"]).exit_code == 0
    refused = runner.invoke(
        app,
        ["users", "create", "--email", "dpo@example.com", "--role", "dpo", "--password-stdin"],
        input="password\n",
    )
    assert refused.exit_code == 1 and "most common" in refused.output
    made = runner.invoke(
        app,
        ["users", "create", "--email", "dpo@example.com", "--role", "dpo", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    assert len(made.stdout.strip()) == 36
    listed = runner.invoke(app, ["users", "list"])
    assert "dpo@example.com" in listed.output
    assert runner.invoke(app, ["users", "disable", "dpo@example.com"]).exit_code == 0


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    store: Store, settings: Settings
) -> None:
    _user(store, "support", "change@example.com")
    app = create_app(settings, store)
    other = _sign_in(store, "change@example.com", PASSWORD)
    with TestClient(app) as client:
        signed = client.post(
            "/api/v1/auth/sign-in", json={"email": "change@example.com", "password": PASSWORD}
        ).json()
        csrf = {"X-CSRF-Token": signed["csrf_token"]}
        body = {"current_password": "wrong one!", "new_password": "a brand new passphrase"}
        assert client.post("/api/v1/auth/password", json=body, headers=csrf).status_code == 401
        body["current_password"] = PASSWORD
        assert client.post("/api/v1/auth/password", json=body).status_code == 403  # no CSRF
        changed = client.post("/api/v1/auth/password", json=body, headers=csrf)
        assert changed.status_code == 200, changed.text
        assert client.get("/api/v1/customers").status_code == 200  # the new session works
    with store.unit_of_work(write=False) as uow, pytest.raises(Unauthorized):
        users.session_actor(uow, other.token, ip=None, request_id=None)
    _sign_in(store, "change@example.com", "a brand new passphrase")


def test_changing_the_email_needs_the_password_and_tells_the_old_address(
    store: Store, settings: Settings
) -> None:
    _user(store, "support", "old@example.com")
    _user(store, "viewer", "taken@example.com")
    app = create_app(settings, store)
    other = _sign_in(store, "old@example.com", PASSWORD)
    with TestClient(app) as client:
        signed = client.post(
            "/api/v1/auth/sign-in", json={"email": "old@example.com", "password": PASSWORD}
        ).json()
        csrf = {"X-CSRF-Token": signed["csrf_token"]}
        body = {"password": "not it at all", "email": "new@example.com"}
        assert client.post("/api/v1/auth/email", json=body, headers=csrf).status_code == 401
        body["password"] = PASSWORD
        assert client.post("/api/v1/auth/email", json=body).status_code == 403  # no CSRF
        taken = client.post(
            "/api/v1/auth/email", json={**body, "email": "Taken@example.com"}, headers=csrf
        )
        assert taken.status_code == 409
        invalid = client.post(
            "/api/v1/auth/email", json={**body, "email": "not an address"}, headers=csrf
        )
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["field"] == "email"
        changed = client.post("/api/v1/auth/email", json=body, headers=csrf)
        assert changed.status_code == 200, changed.text
        assert client.get("/api/v1/customers").status_code == 200  # the new session works
    with store.unit_of_work(write=False) as uow:
        with pytest.raises(Unauthorized):
            users.session_actor(uow, other.token, ip=None, request_id=None)
        notices = uow.outbox.pending()
    assert [n["address"] for n in notices] == ["old@example.com"]
    _sign_in(store, "new@example.com", PASSWORD)
    with pytest.raises(Unauthorized):
        _sign_in(store, "old@example.com", PASSWORD)
