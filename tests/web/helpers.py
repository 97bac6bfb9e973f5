"""Signing in to the pages without a browser, and the CSRF token a page carries."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
from fastapi.testclient import TestClient


def signed_in(client: TestClient, account: dict[str, Any], target: str = "/customers") -> Any:
    """Sign ``account`` (a ``factories.user``) in, with its TOTP code when it has MFA."""
    answer = client.post(
        "/sign-in",
        data={"email": account["email"], "password": account["password"], "next": target},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    if account["totp_secret"]:
        assert answer.headers["location"].startswith("/sign-in/mfa")
        # the next step's code: the current one went into the enrolment (each is used once)
        code = pyotp.TOTP(account["totp_secret"]).at(int(time.time()) + 30)
        answer = client.post(
            "/sign-in/mfa", data={"code": code, "next": target}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == target
    return answer


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)
