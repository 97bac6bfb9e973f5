"""The catalogue's upkeep: collect every text the pages can show and bring the translations up
to date (``make messages``; a test fails when the catalogue and the pages disagree).

Texts come from the templates (``_``/``ngettext``) and the web modules (``_``/``N_``). New texts
enter each ``.po`` file untranslated, texts no longer used leave it; translations are never
guessed (no fuzzy matching).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from clientela.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCALE_DIR

__all__ = ["catalogue_path", "extract", "update"]

WEB_DIR = Path(__file__).parent
_METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("*.py", "python")]
_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
}
_WIDTH = 100
#: the catalogue's header keeps one date, so regenerating it changes only what changed
_FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def extract() -> Catalog:
    """Every text of the pages, as a template catalogue (locations relative to ``web/``)."""
    template = Catalog(project="Clientela", fuzzy=False, creation_date=_FIXED_DATE)
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, comments, context in extract_from_dir(
        WEB_DIR, _METHODS, options_map=options, keywords=_KEYWORDS, strip_comment_tags=True
    ):
        template.add(
            message,
            locations=[(filename, lineno)],
            auto_comments=comments,
            context=context,
            flags=("python-format",) if _has_placeholders(message) else (),
        )
    return template


def _has_placeholders(message: str | tuple[str, ...]) -> bool:
    texts = (message,) if isinstance(message, str) else message
    return any("%(" in text for text in texts)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def update() -> dict[str, int]:
    """Bring every language's catalogue in line with the pages; returns the untranslated
    count per language."""
    template = extract()
    untranslated: dict[str, int] = {}
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        path = catalogue_path(language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(
                locale=language,
                project="Clientela",
                copyright_holder="The Clientela authors",
                header_comment=f"# {LANGUAGES[language]} texts of Clientela's pages.\n#",
                fuzzy=False,
            )
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.creation_date = _FIXED_DATE
        catalog.fuzzy = False
        with path.open("wb") as handle:
            write_po(
                handle,
                catalog,
                width=_WIDTH,
                omit_header=False,
                ignore_obsolete=True,
                include_previous=False,
                sort_output=False,
                include_lineno=False,
            )
        untranslated[language] = len(
            [message for message in catalog if message.id and not _translated(message.string)]
        )
    return untranslated


def _translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


if __name__ == "__main__":
    for name, missing in update().items():
        print(f"{catalogue_path(name)}: {missing} untranslated")
    sys.exit(0)
