"""Normalisers for the values people give us.

Each function takes raw input and returns the canonical form, or raises ``InvalidValue`` with a
message that names the problem but never repeats the value (messages end up in logs and responses).
Every normaliser is idempotent: normalising a normalised value returns it unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import email_validator
import phonenumbers
from validate_docbr import CPF

from clientela.domain.errors import InvalidValue

__all__ = [
    "GENDERS",
    "country_codes",
    "format_cpf",
    "join_name",
    "normalise_birth_date",
    "normalise_country",
    "normalise_cpf",
    "normalise_email",
    "normalise_gender",
    "normalise_locale",
    "normalise_person_name",
    "normalise_phone",
    "normalise_postal_code",
    "normalise_tag",
    "normalise_text",
    "parse_date",
    "search_key",
    "split_full_name",
]

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100
MAX_AGE_YEARS = 120

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def normalise_text(raw: str, *, max_length: int, field_label: str = "value") -> str:
    """Trim, collapse white space, NFC-normalise; refuse control characters and over-long text."""
    if not isinstance(raw, str):
        raise InvalidValue(f"{field_label} must be text", "type")
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if _CONTROL.search(text):
        raise InvalidValue(f"{field_label} contains control characters", "control_characters")
    if not text:
        raise InvalidValue(f"{field_label} is empty", "empty")
    if len(text) > max_length:
        raise InvalidValue(f"{field_label} is longer than {max_length} characters", "too_long")
    return text


# --- e-mail -----------------------------------------------------------------------------------


def normalise_email(raw: str, *, check_deliverability: bool = False) -> str:
    """Syntax check (RFC 5322 / 6531 via email-validator) and lower-case the whole address.

    Lower-casing the local part is not what RFC 5321 allows in theory, but it is what every mail
    provider does in practice, and identity matching needs one canonical form.
    """
    text = normalise_text(raw, max_length=MAX_EMAIL_LENGTH, field_label="e-mail address")
    try:
        result = email_validator.validate_email(
            text, check_deliverability=check_deliverability, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidValue(_email_reason(str(exc)), "invalid_email") from None
    normalised = unicodedata.normalize("NFC", result.normalized.lower())
    if normalised != text.lower():
        # Lower-casing can change how the address validates (rare Unicode cases); accept only a
        # form that is stable, so that normalising twice changes nothing.
        try:
            again = email_validator.validate_email(
                normalised, check_deliverability=False, allow_smtputf8=True
            )
        except email_validator.EmailNotValidError:
            raise InvalidValue("not a valid e-mail address", "invalid_email") from None
        if unicodedata.normalize("NFC", again.normalized.lower()) != normalised:
            raise InvalidValue("not a valid e-mail address", "invalid_email")
    return normalised


def _email_reason(message: str) -> str:
    """email-validator's reason without the parts of the address it sometimes quotes."""
    lowered = message.lower()
    if "@-sign" in lowered and ("exactly one" in lowered or "must have" in lowered):
        return "not a valid e-mail address: it must have exactly one @"
    if "after the @" in lowered or "domain" in lowered:
        return "not a valid e-mail address: the domain part is not valid"
    if "before the @" in lowered or "local part" in lowered:
        return "not a valid e-mail address: the part before the @ is not valid"
    if "too long" in lowered:
        return "not a valid e-mail address: it is too long"
    return "not a valid e-mail address"


# --- phone ------------------------------------------------------------------------------------


def normalise_phone(raw: str, *, region: str) -> str:
    """Any common written form to E.164 (``+5511987654321``), using ``region`` when no country
    code is given."""
    text = normalise_text(raw, max_length=40, field_label="phone number")
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidValue("not a phone number", "invalid_phone") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidValue("not a possible phone number (wrong length)", "invalid_phone")
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("not a valid phone number for its country", "invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str | None:
    """The region (ISO 3166) of a number written in E.164, as ``phonenumbers`` tells it;
    ``None`` when it is not such a number.

    Parsing costs about 100 µs, a third of a profile's quality assessment. A country code used
    by one region alone (+55, +49...) names the region whatever follows, so a number of plain
    digits under such a code answers from the code; shared codes (+1, +7, +44...) are parsed.
    """
    digits = e164[1:]
    if (
        e164.startswith("+")
        and digits.isdigit()
        and digits[0] != "0"  # no country code starts with 0
        and _SHORTCUT_DIGITS[0] <= len(digits)
    ):
        for length in (1, 2, 3):  # country codes are prefix-free
            regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:length]))
            if regions is not None:
                national = len(digits) - length
                if len(regions) == 1 and _SHORTCUT_DIGITS[1] <= national <= _SHORTCUT_DIGITS[2]:
                    return regions[0]
                break
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


#: (digits in all, national digits from, to) for which the code alone answers: shorter or
#: longer strings are parsed, so that what ``phonenumbers`` refuses is refused here too.
_SHORTCUT_DIGITS = (4, 3, 15)


# --- names ------------------------------------------------------------------------------------

# Particles written in lower case inside names (Portuguese, Spanish, Dutch, German, French, Arabic).
_PARTICLES = frozenset(
    {
        "da",
        "das",
        "de",
        "del",
        "della",
        "der",
        "di",
        "do",
        "dos",
        "du",
        "e",
        "la",
        "le",
        "van",
        "von",
        "y",
        "bin",
        "ibn",
        "al",
    }
)
_NAME_FORBIDDEN = re.compile(r"[0-9@#$%^&*_+=<>{}\[\]|\\/:;\"!?()]")
_PATRONYMIC_ENDINGS = ("ович", "евич", "ич", "овна", "евна", "ична", "инична")


def normalise_person_name(raw: str) -> str:
    """Trim and collapse spaces; fix the case of words typed in all lower or all upper case.

    Words typed in mixed case are kept as typed ("McDonald", "DeShawn"): people know their names.
    """
    text = normalise_text(raw, max_length=MAX_NAME_LENGTH, field_label="name")
    if _NAME_FORBIDDEN.search(text):
        raise InvalidValue("a name cannot contain digits or symbols", "invalid_name")
    if not any(ch.isalpha() for ch in text):
        raise InvalidValue("a name must contain letters", "invalid_name")
    # Case changes can decompose letters ("İ".lower() is "i" + a combining dot): recompose.
    return unicodedata.normalize("NFC", _fix_case(text))


def _fix_case(text: str) -> str:
    """Title-case each word typed in one case; keep words typed in mixed case as they are."""
    out: list[str] = []
    for index, word in enumerate(text.split(" ")):
        if word != word.lower() and word != word.upper():
            out.append(word)
        elif index > 0 and word.lower() in _PARTICLES:
            out.append(word.lower())
        else:
            out.append(_capitalise_segments(word.lower()))
    return " ".join(out)


def _capitalise_segments(word: str) -> str:
    # Capitalise after hyphens and apostrophes: "jean-luc" -> "Jean-Luc", "o'neil" -> "O'Neil".
    result: list[str] = []
    capitalise_next = True
    for ch in word:
        if capitalise_next and ch.isalpha():
            result.append(ch.upper() if len(ch.upper()) == 1 else ch)
            capitalise_next = False
        else:
            result.append(ch)
        if ch in "-'’":
            capitalise_next = True
    return "".join(result)


def split_full_name(full_name: str, *, locale: str | None = None) -> tuple[str, str | None, str]:
    """Split a full name into (given, middle, family).

    Portuguese and English: first word is the given name, the rest the family name ("Maria da
    Silva" -> "Maria", "da Silva"). Russian ФИО: "Иванов Иван Иванович" -> family first, then
    given, then the patronymic as the middle name.
    """
    words = full_name.split(" ")
    if len(words) == 1:
        return words[0], None, ""
    is_russian = (locale or "").lower().startswith("ru") or _is_cyrillic(full_name)
    if is_russian and len(words) == 3 and words[2].lower().endswith(_PATRONYMIC_ENDINGS):
        return words[1], words[2], words[0]
    if is_russian and len(words) == 3 and words[1].lower().endswith(_PATRONYMIC_ENDINGS):
        return words[0], words[1], words[2]
    return words[0], None, " ".join(words[1:])


def join_name(given: str | None, middle: str | None, family: str | None) -> str | None:
    parts = [part for part in (given, middle, family) if part]
    return " ".join(parts) if parts else None


def _is_cyrillic(text: str) -> bool:
    return any("CYRILLIC" in unicodedata.name(ch, "") for ch in text if ch.isalpha())


def search_key(text: str) -> str:
    """Case- and accent-insensitive key for prefix search ("João" and "joao" meet)."""
    if text.isascii():  # nothing to decompose or strip: the same key, 5x sooner
        return _SPACES.sub(" ", text.lower()).strip()
    return _unicode_search_key(text)


def _unicode_search_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


# --- dates ------------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y")
_BASIC_DATE = re.compile(r"\d{8}")


def parse_date(raw: str | date, *, formats: tuple[str, ...] = _DATE_FORMATS) -> date:
    """ISO 8601 first, then day-first forms (Brazil and Russia write day first)."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        raise InvalidValue("a date must be text such as 1990-12-31", "type")
    text = raw.strip()
    if _BASIC_DATE.fullmatch(text):  # ISO 8601 basic format, as many exports write it
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidValue("not a date (expected YYYY-MM-DD)", "invalid_date")


def normalise_birth_date(raw: str | date, *, today: date) -> date:
    born = parse_date(raw)
    if born > today:
        raise InvalidValue("a birth date cannot be in the future", "future_date")
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age > MAX_AGE_YEARS:
        raise InvalidValue(f"a birth date must give an age of at most {MAX_AGE_YEARS}", "too_old")
    return born


# --- places -----------------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "BRASIL": "BR",
    "BRAZIL": "BR",
    "BRA": "BR",
    "USA": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "ESTADOS UNIDOS": "US",
    "РОССИЯ": "RU",
    "RUSSIA": "RU",
    "RUS": "RU",
    "РОССИЙСКАЯ ФЕДЕРАЦИЯ": "RU",
    "PORTUGAL": "PT",
    "PRT": "PT",
    "ARGENTINA": "AR",
    "ARG": "AR",
    "UK": "GB",
    "UNITED KINGDOM": "GB",
    "GERMANY": "DE",
    "ALEMANHA": "DE",
    "FRANCE": "FR",
    "FRANÇA": "FR",
    "SPAIN": "ES",
    "ESPANHA": "ES",
    "ITALY": "IT",
    "ITÁLIA": "IT",
    "MEXICO": "MX",
    "MÉXICO": "MX",
    "CANADA": "CA",
    "CANADÁ": "CA",
}


def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes known to the phone-number metadata (every inhabited country)."""
    return _COUNTRIES


_COUNTRIES = frozenset(code for code in phonenumbers.SUPPORTED_REGIONS if len(code) == 2)


def normalise_country(raw: str) -> str:
    text = normalise_text(raw, max_length=60, field_label="country").upper()
    code = _COUNTRY_ALIASES.get(text, text)
    if code not in _COUNTRIES:
        raise InvalidValue("not an ISO 3166-1 alpha-2 country code (such as BR)", "invalid_country")
    return code


#: country -> (pattern of the compact form, separator between its groups)
_POSTAL_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "BR": (re.compile(r"^(\d{5})-?(\d{3})$"), "-"),
    "US": (re.compile(r"^(\d{5})(?:-?(\d{4}))?$"), "-"),
    "RU": (re.compile(r"^(\d{6})$"), ""),
    "PT": (re.compile(r"^(\d{4})-?(\d{3})$"), "-"),
}


def normalise_postal_code(raw: str, *, country: str | None) -> str:
    text = normalise_text(raw, max_length=16, field_label="postal code").upper()
    if country in _POSTAL_PATTERNS:
        pattern, separator = _POSTAL_PATTERNS[country]
        match = pattern.match(text.replace(" ", "").replace(".", ""))
        if not match:
            raise InvalidValue(f"not a postal code of {country}", "invalid_postal_code")
        return separator.join(group for group in match.groups() if group)
    return text


# --- documents --------------------------------------------------------------------------------

_CPF = CPF()


def normalise_cpf(raw: str) -> str:
    """Brazilian CPF as its 11 digits (punctuation removed), check digits verified."""
    text = normalise_text(str(raw), max_length=20, field_label="CPF")
    digits = re.sub(r"[.\-\s/]", "", text)
    if not digits.isdigit() or not digits.isascii():
        raise InvalidValue("a CPF has only digits, dots and a hyphen", "invalid_document")
    if len(digits) != 11:
        raise InvalidValue("a CPF has 11 digits", "invalid_document")
    if not _CPF.validate(digits):
        raise InvalidValue("not a valid CPF (check digits do not match)", "invalid_document")
    return digits


def format_cpf(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


# --- small enumerations -----------------------------------------------------------------------

GENDERS = ("female", "male", "non_binary", "other", "undisclosed")
_GENDER_ALIASES = {
    "f": "female",
    "female": "female",
    "feminino": "female",
    "mulher": "female",
    "ж": "female",
    "женский": "female",
    "woman": "female",
    "m": "male",
    "male": "male",
    "masculino": "male",
    "homem": "male",
    "м": "male",
    "мужской": "male",
    "man": "male",
    "non_binary": "non_binary",
    "non-binary": "non_binary",
    "nonbinary": "non_binary",
    "não binário": "non_binary",
    "nao binario": "non_binary",
    "nb": "non_binary",
    "other": "other",
    "outro": "other",
    "другой": "other",
    "undisclosed": "undisclosed",
    "prefer not to say": "undisclosed",
    "prefiro não dizer": "undisclosed",
}


def normalise_gender(raw: str) -> str:
    text = normalise_text(raw, max_length=30, field_label="gender").casefold()
    try:
        return _GENDER_ALIASES[text]
    except KeyError:
        raise InvalidValue(
            f"gender must be one of {', '.join(GENDERS)}", "invalid_choice"
        ) from None


_LOCALE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{2}|\d{3}))?$")


def normalise_locale(raw: str) -> str:
    """BCP 47 language tag with language and optional region: ``pt-BR``, ``en``, ``ru-RU``."""
    text = normalise_text(raw, max_length=12, field_label="locale")
    match = _LOCALE.match(text)
    if not match:
        raise InvalidValue("a locale looks like pt-BR or en", "invalid_locale")
    language, region = match.group(1).lower(), match.group(2)
    return f"{language}-{region.upper()}" if region else language


_TAG = re.compile(r"^[\w][\w \-&'.]*$")


def normalise_tag(raw: str) -> str:
    """Interest and lifestyle tags: lower case, single spaces, letters, digits and a few marks."""
    text = normalise_text(raw, max_length=50, field_label="tag").casefold()
    if not _TAG.match(text):
        raise InvalidValue("a tag has letters, digits, spaces and - & ' . only", "invalid_tag")
    return text
