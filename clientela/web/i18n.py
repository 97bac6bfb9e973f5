"""The pages in English and Brazilian Portuguese (Babel).

The language of a page is the signed-in user's setting, else the best match of the browser's
``Accept-Language``, else English. The catalogue is the ``.po`` file under ``web/locale`` (the
only translation source in the repository, kept complete by a test); it is compiled in memory
the first time a language is used, so no generated ``.mo`` file is committed or goes stale.

Templates call ``_("text %(name)s", name=…)`` (Jinja's new-style gettext: placeholders by name,
values escaped) and the filters below for words that come from data: ``t`` (a text such as a
domain message, translated when the catalogue has it), ``field_label``, ``term`` (a stored state
or kind), ``number``, ``when`` and ``day``.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
from collections.abc import Callable
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import Request

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "install",
    "language_of",
    "negotiate",
    "translations",
    "translator",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
#: language code -> its name in that language (what the settings menu shows)
LANGUAGES: dict[str, str] = {"en": "English", "pt_BR": "Português (Brasil)"}
#: the code for ``<html lang>`` (BCP 47)
HTML_LANG = {"en": "en", "pt_BR": "pt-BR"}
_MAX_HEADER = 500
_DATE_FORMAT = {"en": "%Y-%m-%d", "pt_BR": "%d/%m/%Y"}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a text for the catalogue where it is defined; pages translate it when shown."""
    return message


@functools.cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of a language (English is the source: no catalogue)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def negotiate(accept_language: str | None) -> str:
    """The supported language a browser prefers most (``Accept-Language``, RFC 9110 §12.5.4).

    Any Portuguese goes to Brazilian Portuguese, any English to English; a malformed entry is
    skipped, never an error."""
    choices: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "")[:_MAX_HEADER].split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = -1.0
        if not 0 < weight <= 1:
            continue
        primary = tag.strip().lower().replace("_", "-").split("-")[0]
        language = {"pt": "pt_BR", "en": "en"}.get(primary)
        if language is not None:
            choices.append((-weight, position, language))
    return min(choices)[2] if choices else DEFAULT_LANGUAGE


def language_of(request: Request) -> str:
    """The page's language: the user's setting (put on the request by the page context), else
    the browser's."""
    chosen = getattr(request.state, "language", None)
    if chosen in LANGUAGES:
        return str(chosen)
    return negotiate(request.headers.get("accept-language"))


def translator(request: Request) -> Callable[[str], str]:
    """``gettext`` in the request's language, for texts composed in Python."""
    return translations(language_of(request)).gettext


# --- formatting -----------------------------------------------------------------------------------


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def format_number(value: Any, language: str, *, decimals: int | None = None) -> str:
    """A number with the language's separators (``1,234.5`` / ``1.234,5``)."""
    if value is None:
        return "—"
    locale = _locale(language)
    if decimals is None:
        return format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale)


def format_when(value: datetime | None, language: str, *, seconds: bool = False) -> str:
    """A moment as the language writes it (always 24-hour; times are UTC on the pages)."""
    if value is None:
        return ""
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return value.strftime(f"{_DATE_FORMAT.get(language, _DATE_FORMAT['en'])} {clock}")


def format_day(value: date | datetime | str | None, language: str) -> str:
    """A day as the language writes it (ISO text such as ``2026-01-31`` is read first)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            day: date = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return day.strftime(_DATE_FORMAT.get(language, _DATE_FORMAT["en"]))


# --- the Jinja environment ------------------------------------------------------------------------


def _language(context: Context) -> str:
    language = context.get("language")
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_language(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_language(context)).ngettext(singular, plural, n)


def install(env: Environment) -> None:
    """Give an environment gettext and the language-aware filters."""
    # imported here: the labels module marks its texts with this module's N_
    from clientela.web.labels import FIELD_LABELS, TERMS

    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        _gettext, _ngettext, newstyle=True
    )

    @pass_context
    def translate(context: Context, text: Any) -> str:
        return _gettext(context, str(text)) if text not in (None, "") else ""

    @pass_context
    def field_label(context: Context, name: str) -> str:
        if name.startswith("identity:external:"):
            source = name.split(":", 2)[2]
            return _gettext(context, N_("its id in %(source)s")) % {"source": source}
        if name.startswith("attributes."):
            key = name.split(".", 1)[1]
            return _gettext(context, N_("%(key)s (custom attribute)")) % {"key": key}
        return _gettext(context, FIELD_LABELS.get(name, name.replace("_", " ")))

    @pass_context
    def term(context: Context, value: Any) -> str:
        if value is None or value == "":
            return ""
        return _gettext(context, TERMS.get(str(value), str(value).replace("_", " ")))

    @pass_context
    def number(context: Context, value: Any, decimals: int | None = None) -> str:
        return format_number(value, _language(context), decimals=decimals)

    @pass_context
    def when(context: Context, value: datetime | None, seconds: bool = False) -> str:
        return format_when(value, _language(context), seconds=seconds)

    @pass_context
    def day(context: Context, value: date | datetime | str | None) -> str:
        return format_day(value, _language(context))

    env.filters.update(
        t=translate, field_label=field_label, term=term, number=number, when=when, day=day
    )
    env.globals["languages"] = LANGUAGES
    env.globals["html_lang"] = HTML_LANG


def page_language(request: Request) -> dict[str, Any]:
    """The context processor: every page knows its language."""
    return {"language": language_of(request)}
