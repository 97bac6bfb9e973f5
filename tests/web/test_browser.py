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


def _wider_than(page: Any, width: int) -> list[str]:
    """The elements reaching past ``width`` pixels (a page must not scroll sideways)."""
    found = page.evaluate(
        "width => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > width + 1)"
        ".map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))",
        width,
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
    person = factories.joana_silva(store, settings, 11, city="Recife")
    admin = factories.user(store, "admin", "admin@example.com", mfa=True)
    page = browser_page.new_page()
    page.goto(f"{running.url}/customers")
    assert "/sign-in" in page.url
    _shot(page, "sign-in")
    assert _serious_violations(page) == []
    _sign_in(page, running.url, admin)
    page.get_by_role("link", name="Dashboard").click()
    assert page.locator('dd[data-kpi="customers"]').inner_text() == "1"
    _shot(page, "dashboard")
    assert _serious_violations(page) == []
    page.get_by_role("link", name="Customers").click()

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

    # an invalid value is refused beside its field and nothing is saved; a valid one is
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("E-mail").fill("joana at gmail")
    page.get_by_label("City").fill("Olinda")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#e-email").is_visible()
    _shot(page, "customer-edit-invalid")
    assert _serious_violations(page) == []
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.get(person["id"])["city"] == "Recife"  # type: ignore[index]
    page.get_by_label("E-mail").fill("joana.silva@example.com")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/customers/{person['id']}?saved=1")
    assert page.locator('dd[data-field="city"]').inner_text() == "Olinda"
    assert page.locator('dd[data-field="email"]').inner_text() == "joana.silva@example.com"

    # the view is in the audit log, seen from the page's own link; the chain verifies
    page.get_by_role("link", name="Audit trail").click()
    reads = page.locator('tr[data-action="customer.read"]')
    assert reads.count() >= 2
    assert "user:" in reads.first.inner_text()
    _shot(page, "audit-log")
    assert _serious_violations(page) == []
    page.get_by_role("button", name="Verify the chain").click()
    assert "The chain is intact" in page.get_by_role("status").inner_text()
    page.goto(f"{running.url}/customers/{person['id']}")

    # at 360 px wide the page still reads (no sideways scrolling)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    _shot(page, "customer-360-narrow")


def test_an_analyst_sees_masked_contact_data_and_no_document(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    running, store = server
    person = factories.joana_silva(store, settings, 12)
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


def test_a_dpo_answers_an_access_request(
    browser_page: Any, server: tuple[Server, Store], settings: Settings, tmp_path: Path
) -> None:
    import json
    import zipfile

    running, store = server
    person = factories.stored_customer(store, settings, email="ana.souza@example.com")
    dpo = factories.user(store, "dpo", "dpo@example.com", mfa=True)
    page = browser_page.new_page()
    _sign_in(page, running.url, dpo)
    page.get_by_role("link", name="Privacy", exact=True).click()
    page.get_by_label("What the person asks for").select_option("access")
    page.get_by_label("Their e-mail, phone or CPF").fill("Ana.Souza@Example.com")
    page.get_by_role("button", name="Record the request").click()
    page.wait_for_url("**/privacy/requests/*")
    assert page.locator('dd[data-field="status"]').inner_text() == "received"
    _shot(page, "privacy-request")
    assert _serious_violations(page) == []
    page.get_by_role("button", name="Attest identity and run").click()
    page.wait_for_load_state()
    assert page.locator('dd[data-field="status"]').inner_text() == "completed"
    with page.expect_download() as fetched:
        page.get_by_role("link", name="Download the bundle (zip: JSON and CSV)").click()
    target = tmp_path / "bundle.zip"
    fetched.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        bundle = json.loads(archive.read("bundle.json"))
    assert bundle["customer_id"] == person["id"]
    page.goto(f"{running.url}/audit?customer_id={person['id']}")
    assert page.locator('tr[data-action="privacy.access"]').count() == 1
    _shot(page, "privacy-audit")


def test_an_analyst_builds_and_saves_a_segment(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    running, store = server
    for city in ("Recife", "Recife", "Natal"):
        factories.stored_customer(store, settings, city=city)
    analyst = factories.user(store, "analyst", "analyst@example.com")
    page = browser_page.new_page()
    _sign_in(page, running.url, analyst)
    page.get_by_role("link", name="Segments").click()
    page.get_by_label("Condition 1: field").select_option("city")
    page.locator("#op_0").select_option("eq")
    page.locator("#value_0").fill("Recife")
    page.locator("#value_0").dispatch_event("change")
    page.locator("[data-count]").wait_for()  # the live count, without submitting
    assert page.locator("[data-count]").get_attribute("data-count") == "2"
    _shot(page, "segment-builder")
    assert _serious_violations(page) == []
    page.get_by_label("Key").fill("recife")
    page.get_by_label("Name", exact=True).fill("Recife")
    page.get_by_role("button", name="Save and materialise").click()
    page.wait_for_url("**/segments?saved=recife")
    assert "2" in page.locator('tr[data-segment="recife"]').inner_text()
    with store.unit_of_work(write=False) as uow:
        saved = uow.segments.get_by_key("recife")
    assert saved is not None and saved["definition"] == {
        "field": "city",
        "op": "eq",
        "value": "Recife",
    }


def test_support_reviews_a_duplicate(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    from clientela.domain.actor import utcnow
    from clientela.domain.ids import new_id

    running, store = server
    older = factories.stored_customer(store, settings, given_name="Maria", family_name="Souza")
    newer = factories.stored_customer(store, settings, given_name="Maria", family_name="Sousa")
    with store.unit_of_work() as uow:  # what a dedupe run leaves for review
        uow.matches.insert_many(
            [
                {
                    "id": new_id(),
                    "left_id": older["id"],
                    "right_id": newer["id"],
                    "probability": 0.82,
                    "match_weight": 2.2,
                    "explanation": {
                        "name": {"level": "Jaro-Winkler > 0.92", "weight": 4.1},
                        "email": {"level": "different", "weight": -3.0},
                    },
                    "status": "pending",
                    "model_version": 1,
                    "run_id": new_id(),
                    "created_at": utcnow(),
                }
            ]
        )
        uow.commit()
    support = factories.user(store, "support", "support@example.com")
    page = browser_page.new_page()
    _sign_in(page, running.url, support)
    page.get_by_role("link", name="Duplicates").click()
    assert "Maria Souza" in page.content() and "Maria Sousa" in page.content()
    assert "Jaro-Winkler > 0.92" in page.locator("main").inner_text()
    _shot(page, "duplicates")
    assert _serious_violations(page) == []
    page.get_by_role("button", name="Merge them").click()
    page.wait_for_url("**/duplicates?decided=merge")
    assert "Nothing to review." in page.content()
    with store.unit_of_work(write=False) as uow:
        merged = uow.customers.get(newer["id"])
    assert merged is not None and merged["status"] == "merged"


def test_an_analyst_reads_and_recomputes_analytics(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    from datetime import UTC, datetime, timedelta

    running, store = server
    now = datetime.now(UTC)
    for n in range(12):
        person = factories.stored_customer(store, settings)
        factories.stored_orders(
            store,
            person["id"],
            [
                (now - timedelta(days=30 * k + n), 1_000 * (n + 1), [{"product_id": f"P{k % 3}"}])
                for k in range(n % 4 + 1)
            ],
        )
    analyst = factories.user(store, "analyst", "analyst@example.com")
    page = browser_page.new_page()
    _sign_in(page, running.url, analyst)
    page.get_by_role("link", name="Analytics").click()
    page.get_by_role("button", name="Recompute RFM groups").click()
    page.wait_for_url("**/analytics?ran=rfm")
    grid = page.locator("table.heat").first.inner_text()
    assert "R5" in grid and "F1" in grid
    page.get_by_role("button", name="Recompute next best products").click()
    page.wait_for_url("**/analytics?ran=recommend")
    assert "P0" in page.locator("main").inner_text() or "P1" in page.locator("main").inner_text()
    page.get_by_role("button", name="Recompute cohort retention").click()
    page.wait_for_url("**/analytics?ran=cohorts")
    assert "Last " in page.locator("section[aria-labelledby=cohorts] caption").inner_text()
    _shot(page, "analytics")
    assert _serious_violations(page) == []


def test_an_admin_imports_a_file_with_a_preview_and_rejects(
    browser_page: Any, server: tuple[Server, Store], settings: Settings, tmp_path: Path
) -> None:
    running, store = server
    upload = tmp_path / "clientes.csv"
    upload.write_text(
        "nome,email,telefone,cidade\n"
        "Ana Lima,ana.lima@example.com,(11) 91234-5678,São Paulo\n"
        "Bruno Dias,not an e-mail,(21) 99876-5432,Rio de Janeiro\n"
        "Carla Reis,carla.reis@example.com,,Recife\n",
        encoding="utf-8",
    )
    admin = factories.user(store, "admin", "admin@example.com", mfa=True)
    page = browser_page.new_page()
    _sign_in(page, running.url, admin)
    page.get_by_role("link", name="Imports").click()
    page.get_by_label("File (CSV, TSV, JSON Lines, XLSX or Parquet, up to 200 MB)").set_input_files(
        str(upload)
    )
    page.get_by_label("Source name (the system it comes from)").fill("old_crm")
    page.get_by_role("button", name="Preview").click()
    assert "email" in page.locator('tr[data-column="email"]').inner_text()
    assert page.get_by_label("telefone").input_value() == "phone"  # recognised
    page.get_by_label("telefone").select_option("ignore")  # a person's choice beats it
    assert "Bruno Dias" in page.locator("main").inner_text()
    _shot(page, "import-preview")
    assert _serious_violations(page) == []
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 0  # a preview imports nothing
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/imports/*")
    assert page.locator("[data-status]").inner_text() == "done"
    assert page.locator('dd[data-field="created"]').inner_text() == "2"
    assert page.locator('dd[data-field="rejected"]').inner_text() == "1"
    with page.expect_download() as fetched:
        page.get_by_role(
            "link", name="Download the refused rows (row number, reason, values)"
        ).click()
    rejects = tmp_path / "rejects.csv"
    fetched.value.save_as(rejects)
    assert "Bruno Dias" in rejects.read_text(encoding="utf-8")
    _shot(page, "import-result")
    with store.unit_of_work(write=False) as uow:
        imported = uow.customers.get_many(uow.customers.active_ids())
    assert len(imported) == 2 and {c["city"] for c in imported} == {"São Paulo", "Recife"}
    assert [c["phone"] for c in imported] == [None, None]  # the phone column was left out


def test_the_dpo_and_admin_pages_are_usable_and_accessible(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    running, store = server
    factories.registered_purposes(store)
    person = factories.joana_silva(store, settings, 21)
    with store.unit_of_work() as uow:
        from clientela.privacy.consent import record_consent

        record_consent(
            uow,
            person["id"],
            "marketing_email",
            "grant",
            actor=factories.actor(),
            settings=settings,
            evidence={"notice_version": "v1", "form": "checkout"},
        )
        uow.commit()
    admin = factories.user(store, "admin", "admin@example.com", mfa=True)
    page = browser_page.new_page()
    page.set_viewport_size({"width": 360, "height": 740})  # a small phone
    _sign_in(page, running.url, admin)
    page.get_by_role("link", name="Privacy", exact=True).click()
    page.get_by_role("link", name="Consent ledger").click()
    page.get_by_label("Person (id, e-mail, phone or CPF)").fill("081 98765-4321")
    page.get_by_role("button", name="Search").click()
    assert page.locator("table[data-ledger] tbody tr").count() == 1
    assert "checkout" in page.locator("table[data-ledger]").inner_text()
    for tab, name in (
        (None, "consent-ledger"),
        ("Purposes", "purposes"),
        ("Retention", "retention"),
        ("Breach reports", "breach"),
    ):
        if tab:
            page.get_by_role("link", name=tab, exact=True).click()
            page.wait_for_load_state()
        assert _wider_than(page, 360) == [], name
        _shot(page, name)
        assert _serious_violations(page) == [], name
    page.get_by_role("link", name="Retention", exact=True).click()
    page.get_by_role("button", name="Dry run (count only)").click()
    assert "Dry run" in page.locator("[data-summary]").inner_text()
    page.get_by_role("link", name="Admin", exact=True).click()
    for tab, name in (("Sources", "sources"), ("Backups", "backups")):
        page.get_by_role("link", name=tab, exact=True).click()
        page.wait_for_load_state()
        _shot(page, name)
        assert _serious_violations(page) == [], name
    page.get_by_role("button", name="Make a backup now").click()
    assert page.locator("[data-made]").count() == 1
    page.locator("table[data-backups] button").first.click()
    assert "Backup intact" in page.locator("[data-verified]").inner_text()


def test_the_pages_speak_brazilian_portuguese_to_a_brazilian_browser(
    browser_page: Any, server: tuple[Server, Store], settings: Settings
) -> None:
    """Chromium set to pt-BR sends that Accept-Language; the account setting overrides it."""
    running, store = server
    factories.joana_silva(store, settings, 31, city="Recife")
    support = factories.user(store, "support", "ana@example.com")
    context = browser_page.browser.new_context(
        locale="pt-BR", viewport={"width": 360, "height": 740}
    )
    try:
        page = context.new_page()
        page.goto(f"{running.url}/customers")
        assert page.locator("html").get_attribute("lang") == "pt-BR"
        page.get_by_label("E-mail").fill(support["email"])
        page.get_by_label("Senha").fill(support["password"])
        page.get_by_role("button", name="Entrar").click()
        page.wait_for_url("**/customers")
        page.get_by_label("Busque por nome, e-mail, telefone (em qualquer formato) ou CPF").fill(
            "(81) 98765-4321"
        )
        page.get_by_role("button", name="Buscar").click()
        page.get_by_role("link", name="Joana Silva").click()
        assert page.get_by_role("heading", name="Pessoais e de contato").is_visible()
        _shot(page, "customer-pt-BR")
        assert _wider_than(page, 360) == []
        assert _serious_violations(page) == []
        page.get_by_role("link", name=support["email"]).click()
        assert page.get_by_role("heading", name="Sua conta").is_visible()
        assert _serious_violations(page) == []
        page.get_by_label("Idioma das páginas").select_option("en")
        page.get_by_role("button", name="Salvar").click()
        assert page.get_by_role("status").inner_text() == "Language saved."
        assert page.locator("html").get_attribute("lang") == "en"
    finally:
        context.close()
