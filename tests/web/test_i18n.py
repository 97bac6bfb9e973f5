"""The pages in English and Brazilian Portuguese: the catalogue, the language chosen, the
formats."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

import clientela
from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.web import messages
from clientela.web.i18n import (
    LANGUAGES,
    format_day,
    format_number,
    format_when,
    negotiate,
    translations,
)
from clientela.web.labels import MESSAGES
from tests import factories
from tests.web.helpers import csrf, signed_in

PORTUGUESE = {"accept-language": "pt-BR,pt;q=0.9,en;q=0.5"}
ENGLISH = {"accept-language": "en-GB,en;q=0.9"}


def _catalogue() -> dict[object, object]:
    with messages.catalogue_path("pt_BR").open("rb") as handle:
        catalog = read_po(handle, locale="pt_BR")
    return {message.id: message for message in catalog if message.id}


def test_the_catalogue_holds_every_text_of_the_pages_and_nothing_else() -> None:
    shown = {message.id for message in messages.extract() if message.id}
    held = set(_catalogue())
    assert shown - held == set(), "new texts: run `make messages` and translate them"
    assert held - shown == set(), "texts no longer used: run `make messages`"


def test_every_text_is_translated_and_keeps_its_placeholders_and_markup() -> None:
    with messages.catalogue_path("pt_BR").open("rb") as handle:
        catalog = read_po(handle, locale="pt_BR")
    assert [(m.id, str(errors)) for m, errors in catalog.check()] == []
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        for source, string in zip(sources, strings, strict=False):
            tags = re.compile(r"</?[a-z]+")
            assert Counter(tags.findall(source)) == Counter(tags.findall(string)), source
            if "%(" in string:  # new-style gettext formats every text: a lone % would break
                assert "%" not in re.sub(r"%\(\w+\)s|%%", "", string), string


def test_the_domain_messages_the_pages_translate_still_exist() -> None:
    package = Path(clientela.__file__).parent
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in package.rglob("*.py")
        if path.name != "labels.py"
    )
    gone = [message for message in MESSAGES if f'"{message}"' not in sources]
    assert gone == [], "a listed message changed where it is raised: update web/labels.py"


def test_the_catalogue_compiles_and_translates_plurals() -> None:
    portuguese = translations("pt_BR")
    assert portuguese.gettext("Sign in") == "Entrar"
    assert portuguese.ngettext("%(num)s day", "%(num)s days", 1) == "%(num)s dia"
    assert portuguese.ngettext("%(num)s day", "%(num)s days", 2) == "%(num)s dias"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_the_browser_language_is_negotiated() -> None:
    assert negotiate("pt-BR,pt;q=0.9,en;q=0.8") == "pt_BR"
    assert negotiate("pt-PT") == "pt_BR"  # the nearest we have
    assert negotiate("en-US,en;q=0.9,pt-BR;q=0.8") == "en"
    assert negotiate("fr-FR, pt;q=0.5") == "pt_BR"  # French is not offered; Portuguese is
    assert negotiate("en;q=0.2, pt-BR;q=0.7") == "pt_BR"  # by weight, not by order
    assert negotiate("pt;q=0, en") == "en"  # q=0: "not this one"
    assert negotiate("de, fr") == "en"
    assert negotiate(None) == "en"
    assert negotiate("pt;q=abc, en") == "en"  # a malformed weight skips its entry


@given(st.text(max_size=300))
def test_any_accept_language_header_gives_an_offered_language(header: str) -> None:
    assert negotiate(header) in LANGUAGES


def test_numbers_days_and_moments_are_written_as_the_language_writes_them() -> None:
    assert format_number(1234567.5, "en", decimals=2) == "1,234,567.50"
    assert format_number(1234567.5, "pt_BR", decimals=2) == "1.234.567,50"
    assert format_number(1234, "pt_BR") == "1.234"
    assert format_number(None, "pt_BR") == "—"
    assert format_day("2026-01-31", "pt_BR") == "31/01/2026"
    assert format_day("2026-01-31T10:00:00+00:00", "en") == "2026-01-31"
    assert format_day("not a day", "pt_BR") == "not a day"
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert format_when(moment, "pt_BR") == "04/03/2026 05:06"
    assert format_when(moment, "en", seconds=True) == "2026-03-04 05:06:07"


def test_pages_speak_the_browsers_language(store: Store, settings: Settings) -> None:
    with TestClient(create_app(settings, store)) as client:
        portuguese = client.get("/sign-in", headers=PORTUGUESE).text
        assert '<html lang="pt-BR">' in portuguese
        assert "<h1>Entrar</h1>" in portuguese and "Senha" in portuguese
        english = client.get("/sign-in", headers=ENGLISH).text
        assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english
        refused = client.post(
            "/sign-in",
            data={"email": "nobody@example.com", "password": "wrong password"},
            headers=PORTUGUESE,
        )
        assert "E-mail ou senha incorretos." in refused.text


def test_the_users_setting_beats_the_browsers_language(store: Store, settings: Settings) -> None:
    support = factories.user(store, "support", "ana@example.com")
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, support, "/account")
        token = csrf(client.get("/account").text)
        unknown = client.post(
            "/account", data={"csrf_token": token, "action": "language", "language": "xx"}
        )
        assert unknown.status_code == 422 and "language: one of en, pt_BR" in unknown.text
        chosen = client.post(
            "/account", data={"csrf_token": token, "action": "language", "language": "pt_BR"}
        )
        assert chosen.status_code == 200 and "Idioma salvo." in chosen.text
        page = client.get("/customers", headers=ENGLISH).text
        assert "<h1>Clientes</h1>" in page and '<html lang="pt-BR">' in page
        client.post("/account", data={"csrf_token": token, "action": "language", "language": ""})
        assert "<h1>Customers</h1>" in client.get("/customers", headers=ENGLISH).text
        assert "<h1>Clientes</h1>" in client.get("/customers", headers=PORTUGUESE).text


def test_a_refused_edit_says_why_in_portuguese(store: Store, settings: Settings) -> None:
    person = factories.joana_silva(store, settings, 21)
    support = factories.user(store, "support", "ana@example.com")
    with TestClient(create_app(settings, store), headers=PORTUGUESE) as client:
        signed_in(client, support, f"/customers/{person['id']}")
        form = client.get(f"/customers/{person['id']}/edit").text
        assert "Data de nascimento" in form and "Salvar" in form
        refused = client.post(
            f"/customers/{person['id']}/edit",
            data={
                "csrf_token": csrf(form),
                "version": re.search(r'name="version" value="(\d+)"', form).group(1),  # type: ignore[union-attr]
                "email": "joana@@example",
                "given_name": "Joana",
            },
        )
        assert refused.status_code == 422
        assert "não é um e-mail válido" in refused.text and "Nada foi salvo." in refused.text


def test_every_page_renders_in_portuguese(store: Store, settings: Settings) -> None:
    person = factories.joana_silva(store, settings, 22)
    admin = factories.user(store, "admin", "root@example.com", mfa=True)
    pages = {
        "/dashboard": "Painel",
        "/customers": "Clientes",
        f"/customers/{person['id']}": "Pessoais e de contato",
        f"/customers/{person['id']}/edit": "Sobrenome",
        "/analytics": "Análises",
        "/imports": "Importar um arquivo",
        "/segments": "Montar um segmento",
        "/duplicates": "Possíveis duplicatas",
        "/privacy/requests": "Registrar uma solicitação",
        "/privacy/consents": "Registro de consentimentos",
        "/privacy/purposes": "Registro de finalidades",
        "/privacy/retention": "Executar as políticas",
        "/privacy/breach": "Relatar um incidente",
        "/audit": "Verificar a cadeia",
        "/admin": "Chaves de API",
        "/admin/sources": "Adicionar uma fonte de rastreamento",
        "/admin/backups": "Fazer um backup agora",
        "/account": "Idioma das páginas",
        "/customers/00000000-0000-7000-8000-000000000000": "Não encontrado",
    }
    with TestClient(create_app(settings, store), headers=PORTUGUESE) as client:
        signed_in(client, admin, "/dashboard")
        for path, text in pages.items():
            answer = client.get(path)
            assert text in answer.text, path
            assert '<html lang="pt-BR">' in answer.text, path
