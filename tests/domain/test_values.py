"""Normalisers: examples, bad input, and properties (idempotent; valid input never raises)."""

from __future__ import annotations

import string
from datetime import date

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientela.domain.errors import InvalidValue
from clientela.domain.values import (
    _unicode_search_key,
    format_cpf,
    join_name,
    normalise_birth_date,
    normalise_country,
    normalise_cpf,
    normalise_email,
    normalise_gender,
    normalise_locale,
    normalise_person_name,
    normalise_phone,
    normalise_postal_code,
    phone_region,
    search_key,
    split_full_name,
)
from tests.factories import cpf

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ana.Souza@Example.COM ", "ana.souza@example.com"),
        ("joão@exemplo.com.br", "joão@exemplo.com.br"),
        ("user+tag@sub.example.org", "user+tag@sub.example.org"),
    ],
)
def test_email_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "ana", "ana@", "@example.com", "a@b@c.com", "ana@exa mple.com"]
)
def test_email_refused_without_echoing_the_value(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_email(raw)
    assert raw.strip() == "" or raw not in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "(11) 98765-4321",
        "11 98765 4321",
        "+55 11 98765-4321",
        "5511987654321",
        "011 98765-4321",
        "+5511987654321",
        "11987654321",
    ],
)
def test_phone_formats_meet_in_e164(raw: str) -> None:
    assert normalise_phone(raw, region="BR") == "+5511987654321"


def test_phone_with_other_country_code() -> None:
    assert normalise_phone("+1 (415) 555-2671", region="BR") == "+14155552671"
    assert normalise_phone("8 (912) 345-67-89", region="RU") == "+79123456789"


@pytest.mark.parametrize("raw", ["123", "abc", "+55 11 1234", "(11) 0000-0000", "+999 123456"])
def test_phone_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_phone(raw, region="BR")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("maria DA silva", "Maria da Silva"),
        ("  JOSÉ   dos  SANTOS ", "José dos Santos"),
        ("jean-luc o'neil", "Jean-Luc O'Neil"),
        ("John McDonald", "John McDonald"),
        ("ИВАНОВ иван", "Иванов Иван"),
    ],
)
def test_person_names(raw: str, expected: str) -> None:
    assert normalise_person_name(raw) == expected


@pytest.mark.parametrize("raw", ["R2D2", "ana@x", "   ", "a" * 101, "Ana\x00"])
def test_person_names_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_person_name(raw)


def test_full_name_split_and_join() -> None:
    assert split_full_name("Maria da Silva") == ("Maria", None, "da Silva")
    assert split_full_name("Иванов Иван Иванович") == ("Иван", "Иванович", "Иванов")
    assert split_full_name("Madonna") == ("Madonna", None, "")
    assert join_name("Иван", "Иванович", "Иванов") == "Иван Иванович Иванов"
    assert join_name(None, None, None) is None


def test_birth_dates() -> None:
    assert normalise_birth_date("1990-04-12", today=TODAY) == date(1990, 4, 12)
    assert normalise_birth_date("12/04/1990", today=TODAY) == date(1990, 4, 12)
    assert normalise_birth_date("12.04.1990", today=TODAY) == date(1990, 4, 12)
    for bad, code in [
        ("2030-01-01", "future_date"),
        ("1890-01-01", "too_old"),
        ("31/02/1990", "invalid_date"),
        ("yesterday", "invalid_date"),
    ]:
        with pytest.raises(InvalidValue) as caught:
            normalise_birth_date(bad, today=TODAY)
        assert caught.value.code == code


def test_age_limits_are_inclusive() -> None:
    assert normalise_birth_date(date(1905, 11, 24), today=TODAY) == date(1905, 11, 24)  # 120
    with pytest.raises(InvalidValue):
        normalise_birth_date(date(1905, 11, 23), today=TODAY)  # 121 today
    assert normalise_birth_date(TODAY, today=TODAY) == TODAY


def test_countries_and_postal_codes() -> None:
    assert normalise_country("br") == "BR"
    assert normalise_country("Brasil") == "BR"
    assert normalise_country("Россия") == "RU"
    with pytest.raises(InvalidValue):
        normalise_country("XX")
    assert normalise_postal_code("01310100", country="BR") == "01310-100"
    assert normalise_postal_code("94105-1234", country="US") == "94105-1234"
    assert normalise_postal_code("101000", country="RU") == "101000"
    assert normalise_postal_code("sw1a 1aa", country="GB") == "SW1A 1AA"
    with pytest.raises(InvalidValue):
        normalise_postal_code("1234", country="BR")


def test_cpf() -> None:
    assert normalise_cpf("529.982.247-25") == "52998224725"
    assert format_cpf("52998224725") == "529.982.247-25"
    for bad in ["529.982.247-26", "000.000.000-00", "1234567890", "abc.def.ghi-jk"]:
        with pytest.raises(InvalidValue):
            normalise_cpf(bad)


def test_gender_and_locale() -> None:
    assert normalise_gender("Feminino") == "female"
    assert normalise_gender("м") == "male"
    with pytest.raises(InvalidValue):
        normalise_gender("robot")
    assert normalise_locale("pt_br") == "pt-BR"
    assert normalise_locale("EN") == "en"


def test_search_key_ignores_case_and_accents() -> None:
    assert search_key("João  CONCEIÇÃO") == "joao conceicao"


@given(st.text(st.characters(max_codepoint=127)))
def test_search_key_of_ascii_text_is_the_full_folding(text: str) -> None:
    """ASCII text skips decomposition; the key must be the one the full folding gives."""
    assert search_key(text) == _unicode_search_key(text)


# --- properties -------------------------------------------------------------------------------

local_parts = st.text(
    string.ascii_letters + string.digits + "._+-", min_size=1, max_size=30
).filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s)
labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    local_parts,
    labels,
    st.sampled_from(["com", "com.br", "org", "ru", "io"]),
)


@given(emails)
def test_valid_email_never_raises_and_is_idempotent(raw: str) -> None:
    once = normalise_email(raw)
    assert normalise_email(once) == once


@given(st.text(max_size=60))
def test_email_normaliser_is_idempotent_on_anything_it_accepts(raw: str) -> None:
    try:
        once = normalise_email(raw)
    except InvalidValue:
        return
    assert normalise_email(once) == once


@settings(max_examples=200)
@given(st.sampled_from(["BR", "US", "RU", "PT", "DE"]), st.data())
def test_valid_phone_in_any_format_normalises_to_the_same_e164(
    region: str, data: st.DataObject
) -> None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    style = data.draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.NATIONAL,
            ]
        )
    )
    written = phonenumbers.format_number(example, style)
    once = normalise_phone(written, region=region)
    assert once == phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert normalise_phone(once, region="BR") == once


def _region_by_parsing(text: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(text, None))
    except phonenumbers.NumberParseException:
        return None


@settings(max_examples=500)
@given(
    st.one_of(
        st.text(string.digits, max_size=20).map(lambda digits: f"+{digits}"),
        st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)).map(
            lambda region: phonenumbers.format_number(
                phonenumbers.example_number(region), phonenumbers.PhoneNumberFormat.E164
            )
        ),
        st.text(max_size=20),
    )
)
def test_phone_region_answers_as_parsing_the_number_does(text: str) -> None:
    assert phone_region(text) == _region_by_parsing(text)


def test_phone_region_of_shared_and_own_country_codes() -> None:
    assert phone_region("+5511987654321") == "BR"
    assert phone_region("+14165550123") == "CA"  # +1 is shared: the area code decides
    assert phone_region("+12125550123") == "US"
    assert phone_region("+55") is None
    assert phone_region("11987654321") is None


name_words = st.text(st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=12)
names = st.lists(name_words, min_size=1, max_size=4).map(" ".join).filter(lambda s: len(s) <= 100)


@given(names)
def test_valid_names_never_raise_and_are_idempotent(raw: str) -> None:
    once = normalise_person_name(raw)
    assert normalise_person_name(once) == once


@given(st.text(max_size=120))
def test_name_normaliser_is_idempotent_on_anything_it_accepts(raw: str) -> None:
    try:
        once = normalise_person_name(raw)
    except InvalidValue:
        return
    assert normalise_person_name(once) == once


@given(st.integers(min_value=0, max_value=10**9))
def test_valid_cpf_in_any_punctuation_never_raises(seed: int) -> None:
    digits = cpf(seed)
    assert normalise_cpf(format_cpf(digits)) == digits
    assert normalise_cpf(digits) == digits


@given(st.dates(min_value=date(1905, 11, 24), max_value=TODAY))
def test_birth_dates_in_range_never_raise(born: date) -> None:
    assert normalise_birth_date(born.isoformat(), today=TODAY) == born
    assert normalise_birth_date(born.strftime("%d/%m/%Y"), today=TODAY) == born


def test_case_fixing_keeps_letters_composed() -> None:
    # Found by hypothesis: lower-casing "İ" decomposes it; a second pass recomposed it.
    once = normalise_person_name("İA")
    assert normalise_person_name(once) == once
