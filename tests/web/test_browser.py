"""The web application in a real browser: Debian's Chromium driven by Playwright against a
server on 127.0.0.1 that this test starts and stops. Screenshots go to test-artifacts/.

Without Chromium (or Node's front-end packages) the test is skipped, except when
CLIENTELA_REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.web.pages import VENDOR_DIR
from tests import factories

CHROMIUM = os.environ.get("CLIENTELA_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE = VENDOR_DIR / "axe-core" / "axe.min.js"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (Debian package chromium)"
    if not AXE.exists():
        return "front-end packages missing (make assets)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


@pytest.fixture
def browser_page() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CLIENTELA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"a browser is required (CLIENTELA_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        try:
            yield context
        finally:
            context.close()
            browser.close()


class Server:
    """uvicorn on a free port of 127.0.0.1 in a thread; stopped by ``stop``."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def server(sqlite_store: Store, settings: Settings) -> Iterator[tuple[Server, Store]]:
    started = Server(create_app(settings, sqlite_store))
    yield started, sqlite_store
    started.stop()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _serious_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(found)


def _sign_in(page: Any, url: str, account: dict[str, Any]) -> None:
    page.goto(f"{url}/customers")
    page.get_by_label("E-mail").fill(account["email"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Sign in").click()
    if account["totp_secret"]:
        page.wait_for_url("**/sign-in/mfa**")
        code = pyotp.TOTP(account["totp_secret"]).at(int(time.time()) + 30)
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/customers")


def test_support_work_in_the_browser(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    running, store = server
    person = factories.stored_customer(
        store,
        settings,
        given_name="Joana",
        family_name="Silva",
        email="joana.silva@gmail.com",
        phone="+55 81 98765-4321",
        document=factories.cpf(11),
        city="Recife",
    )
    admin = factories.user(store, "admin", "admin@example.com", mfa=True)
    page = browser_page.new_page()
    page.goto(f"{running.url}/customers")
    assert "/sign-in" in page.url
    _shot(page, "sign-in")
    assert _serious_violations(page) == []
    _sign_in(page, running.url, admin)

    # the phone typed in another format than it was stored in
    page.get_by_label("Search by name, e-mail, phone (any format) or CPF").fill("(81) 98765 4321")
    page.keyboard.press("Enter")
    result = page.get_by_role("link", name="Joana Silva")
    result.wait_for()
    _shot(page, "search")
    assert _serious_violations(page) == []
    result.click()
    page.wait_for_url(f"**/customers/{person['id']}")
    assert page.locator('dd[data-field="email"]').inner_text() == "joana.silva@gmail.com"
    assert page.locator('dd[data-field="city"]').inner_text() == "Recife"
    _shot(page, "customer-360")
    assert _serious_violations(page) == []

    # the view is in the audit log
    with store.unit_of_work(write=False) as uow:
        reads = [e for e in uow.audit.for_customer(person["id"]) if e["action"] == "customer.read"]
    assert reads and reads[-1]["actor"].startswith("user:")

    # at 360 px wide the page still reads (no sideways scrolling)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    _shot(page, "customer-360-narrow")


def test_an_analyst_sees_masked_contact_data_and_no_document(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    running, store = server
    person = factories.stored_customer(
        store,
        settings,
        given_name="Joana",
        family_name="Silva",
        email="joana.silva@gmail.com",
        document=factories.cpf(12),
    )
    analyst = factories.user(store, "analyst", "analyst@example.com")
    page = browser_page.new_page()
    _sign_in(page, running.url, analyst)
    page.goto(f"{running.url}/customers/{person['id']}")
    assert page.locator('dd[data-field="email"]').inner_text() == "j***@g***.com"
    assert page.locator('dd[data-field="document"]').count() == 0
    assert factories.cpf(12) not in page.content()
    _shot(page, "customer-360-analyst")


def test_search_as_you_type(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    """With htmx, results arrive while typing, without submitting the form."""
    running, store = server
    factories.stored_customer(store, settings, given_name="Otávio", family_name="Lima")
    support = factories.user(store, "support", "support@example.com")
    page = browser_page.new_page()
    _sign_in(page, running.url, support)
    page.get_by_label("Search by name, e-mail, phone (any format) or CPF").press_sequentially(
        "otav", delay=40
    )
    page.get_by_role("link", name="Otávio Lima").wait_for(timeout=5000)
    # the page was not reloaded: the search box keeps its focus
    assert page.evaluate("document.activeElement.id") == "q"
