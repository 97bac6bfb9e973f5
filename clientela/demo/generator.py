"""Generate a demo population: people across the five data categories, their events, orders and
consents, and about 3% near-duplicates with realistic corruption. Pure: no I/O.

The same seed and the same ``as_of`` date give the same data.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import phonenumbers
from faker import Faker

from clientela.demo.catalogue import (
    BR_AREA_CODES,
    INTERESTS,
    LIFESTYLES,
    PAGES,
    PRODUCTS,
    PURPOSES,
    TICKET_TOPICS,
    US_AREA_CODES,
    VALUES,
)
from clientela.domain.fields import CHANNELS, EDUCATION_LEVELS, MARITAL_STATUSES

__all__ = ["DemoData", "generate"]

LOCALES = (("pt_BR", 0.6), ("en_US", 0.25), ("ru_RU", 0.15))
DUPLICATE_SHARE = 0.03


@dataclass
class DemoData:
    customers: list[dict[str, Any]] = field(default_factory=list)
    #: (index of the original, index of its near-duplicate) in ``customers``
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    #: events and orders refer to people by index in ``customers``
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    purposes: tuple[dict[str, Any], ...] = PURPOSES


def generate(count: int, *, seed: int = 42, as_of: date | None = None) -> DemoData:
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale, _ in LOCALES}
    for offset, faker in enumerate(fakers.values()):
        faker.seed_instance(seed * 31 + offset)
    today = as_of or datetime.now(UTC).date()
    data = DemoData()
    originals = max(1, round(count / (1 + DUPLICATE_SHARE)))
    for _ in range(min(originals, count)):
        locale = rng.choices([loc for loc, _ in LOCALES], [w for _, w in LOCALES])[0]
        data.customers.append(_person(rng, fakers[locale], locale, today))
    while len(data.customers) < count:
        original = rng.randrange(originals)
        data.duplicates.append((original, len(data.customers)))
        data.customers.append(_near_duplicate(rng, data.customers[original]))
    end = datetime.combine(today, time(12), tzinfo=UTC)
    for index, person in enumerate(data.customers):
        joined = end - timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1439))
        person["_joined"] = joined
        _activity(rng, data, index, person, joined, end)
    return data


# --- people -----------------------------------------------------------------------------------


def _person(rng: random.Random, faker: Faker, locale: str, today: date) -> dict[str, Any]:
    female = rng.random() < 0.52
    country = {"pt_BR": "BR", "en_US": "US", "ru_RU": "RU"}[locale]
    given = faker.first_name_female() if female else faker.first_name_male()
    if locale == "ru_RU":
        family = faker.last_name_female() if female else faker.last_name_male()
        middle = faker.middle_name_female() if female else faker.middle_name_male()
        full_name = f"{family} {given} {middle}"  # ФИО order
    elif locale == "pt_BR":
        family = (
            faker.last_name() if rng.random() < 0.5 else f"{faker.last_name()} {faker.last_name()}"
        )
        full_name = f"{given} {family}"
    else:
        family = faker.last_name()
        full_name = f"{given} {family}"
    age = rng.randint(18, 85)
    birth = today - timedelta(days=age * 365 + rng.randint(0, 364))
    person: dict[str, Any] = {
        "full_name": full_name if rng.random() > 0.1 else full_name.upper(),
        "email": _email(rng, faker, given, family, locale),
        "phone": _phone(rng, country),
        "birth_date": birth.isoformat(),
        "gender": "female" if female else "male",
        "address_line1": faker.street_address()[:200],
        "city": faker.city()[:100],
        "region": _region(faker, locale),
        "postal_code": faker.postcode(),
        "country": country,
        "locale": locale.replace("_", "-"),
        "education": rng.choice(EDUCATION_LEVELS),
        "occupation": faker.job()[:100],
        "income_band": rng.choice(("A", "B", "C", "D", "E")),
        "marital_status": rng.choice(MARITAL_STATUSES),
        "household_size": rng.randint(1, 6),
        "interests": rng.sample(INTERESTS, rng.randint(0, 4)),
        "values": rng.sample(VALUES, rng.randint(0, 2)),
        "lifestyle": rng.sample(LIFESTYLES, rng.randint(0, 2)),
        "preferred_channel": rng.choice(CHANNELS[:5]),
        "preferred_payment_method": rng.choice(
            ("pix", "credit_card", "boleto", "debit_card")
            if country == "BR"
            else ("credit_card", "debit_card", "wallet")
        ),
    }
    if country == "BR" and rng.random() < 0.8:
        person["document"] = _format_cpf_randomly(rng, _cpf(rng))
    if rng.random() < 0.05:
        person.pop("phone")
    return person


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def _email(rng: random.Random, faker: Faker, given: str, family: str, locale: str) -> str:
    if locale == "ru_RU":
        local = faker.user_name()
    else:
        first, last = _ascii(given), _ascii(family.split(" ")[-1])
        local = rng.choice(
            (f"{first}.{last}", f"{first}{last}", f"{first[:1]}{last}", f"{first}_{last}")
        )
    local += str(rng.randint(1, 9999)) if rng.random() < 0.7 else ""
    domain = faker.free_email_domain()
    address = f"{local}@{domain}"
    return address if rng.random() > 0.1 else address.capitalize()


def _phone(rng: random.Random, country: str) -> str:
    while True:
        if country == "BR":
            area = rng.choice(BR_AREA_CODES)
            number = f"9{rng.randint(6, 9)}{rng.randint(0, 9999999):07d}"
            candidate = f"+55{area}{number}"
        elif country == "US":
            area = rng.choice(US_AREA_CODES)
            candidate = (
                f"+1{area}{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(0, 9999):04d}"
            )
        else:
            candidate = f"+79{rng.randint(0, 99):02d}{rng.randint(0, 9999999):07d}"
        parsed = phonenumbers.parse(candidate)
        if phonenumbers.is_valid_number(parsed):
            return _format_phone_randomly(rng, parsed, country)


def _format_phone_randomly(
    rng: random.Random, number: phonenumbers.PhoneNumber, country: str
) -> str:
    """People write phones every which way; the store must read them all."""
    style = rng.random()
    if style < 0.4:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if style < 0.7:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if style < 0.85:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = str(number.national_number)
    return national if country == "BR" else "+" + str(number.country_code) + " " + national


def _region(faker: Faker, locale: str) -> str:
    if locale == "pt_BR":
        return str(faker.estado_sigla())
    if locale == "en_US":
        return str(faker.state_abbr())
    return str(faker.region())[:100]


def _cpf(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        if len(set(digits)) > 1:
            break
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        check = (total * 10) % 11
        digits.append(0 if check == 10 else check)
    return "".join(map(str, digits))


def _format_cpf_randomly(rng: random.Random, cpf: str) -> str:
    if rng.random() < 0.6:
        return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    return cpf


# --- near-duplicates --------------------------------------------------------------------------


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + word[-1]
    position = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:  # swap neighbours
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if kind < 0.7:  # drop a letter
        return word[:position] + word[position + 1 :]
    return word[:position] + word[position] + word[position:]  # double a letter


def _near_duplicate(rng: random.Random, original: dict[str, Any]) -> dict[str, Any]:
    """The same person entered again: 1-3 corruptions, and never a shared identity (the store's
    deterministic stitching would have joined them; finding these is the matcher's job)."""
    copy = {key: value for key, value in original.items() if not key.startswith("_")}
    words = copy["full_name"].split(" ")
    for _ in range(rng.randint(1, 3)):
        corruption = rng.random()
        if corruption < 0.35:
            target = rng.randrange(len(words))
            words[target] = _typo(rng, words[target])
        elif corruption < 0.5 and len(words) >= 2:
            words[0], words[-1] = words[-1], words[0]
        elif corruption < 0.7 and copy.get("birth_date"):
            born = date.fromisoformat(copy["birth_date"])
            if born.day <= 12 and born.day != born.month:
                copy["birth_date"] = born.replace(month=born.day, day=born.month).isoformat()
            else:
                copy["birth_date"] = (born + timedelta(days=rng.choice((-1, 1)))).isoformat()
        elif corruption < 0.85:
            copy.pop("address_line1", None)
        else:
            copy["city"] = copy.get("city", "").lower() or None
    copy["full_name"] = " ".join(words)
    local, _, domain = copy["email"].partition("@")
    copy["email"] = rng.choice(
        (f"{_typo(rng, local)}@{domain}", f"{local}.{rng.randint(1, 99)}@{domain}")
    )
    if rng.random() < 0.3:
        copy.pop("email")
    if "phone" in copy:
        digits = list(copy["phone"])
        positions = [i for i, ch in enumerate(digits) if ch.isdigit()]
        last = positions[-1]
        digits[last] = str((int(digits[last]) + rng.randint(1, 9)) % 10)
        copy["phone"] = "".join(digits)
        if rng.random() < 0.4:
            copy.pop("phone")
    copy.pop("document", None)
    return copy


# --- activity ---------------------------------------------------------------------------------


def _message_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _when(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randrange(span))


def _activity(
    rng: random.Random,
    data: DemoData,
    index: int,
    person: dict[str, Any],
    joined: datetime,
    end: datetime,
) -> None:
    def event(type_: str, name: str | None, properties: dict[str, Any], at: datetime) -> None:
        data.events.append(
            {
                "customer": index,
                "type": type_,
                "name": name,
                "properties": properties,
                "occurred_at": at,
                "message_id": _message_id(rng),
            }
        )

    event("track", "Signed Up", {"method": rng.choice(("web", "app", "store"))}, joined)
    for _ in range(rng.randint(0, 25)):
        path, title = rng.choice(PAGES)
        event("page", title, {"path": path, "title": title}, _when(rng, joined, end))
    for _ in range(rng.randint(0, 6)):
        sku, name, category, price = rng.choice(PRODUCTS)
        event(
            "track",
            "Product Viewed",
            {"product_id": sku, "name": name, "category": category, "price": price / 100},
            _when(rng, joined, end),
        )
    if rng.random() < 0.2:
        event(
            "track",
            "Support Ticket Opened",
            {"topic": rng.choice(TICKET_TOPICS)},
            _when(rng, joined, end),
        )
    if rng.random() < 0.3:
        event(
            "track",
            "Survey Answered",
            {
                "survey": "nps",
                "score": rng.choices(range(11), weights=[1] * 6 + [2, 3, 5, 6, 5])[0],
            },
            _when(rng, joined, end),
        )
    if rng.random() < 0.4:
        event("track", "Form Submitted", {"form": "newsletter"}, _when(rng, joined, end))
    if rng.random() < 0.7:
        for _ in range(min(20, int(rng.expovariate(1 / 3)) + 1)):
            items: list[dict[str, Any]] = []
            for sku, name, category, price in rng.sample(PRODUCTS, rng.randint(1, 4)):
                items.append(
                    {
                        "product_id": sku,
                        "name": name,
                        "category": category,
                        "price": price / 100,
                        "quantity": rng.randint(1, 3),
                    }
                )
            amount = sum(round(item["price"] * 100) * item["quantity"] for item in items)
            data.orders.append(
                {
                    "customer": index,
                    "order_id": f"PED-{rng.getrandbits(40):010X}",
                    "occurred_at": _when(rng, joined, end),
                    "amount_minor": amount,
                    "currency": "BRL",
                    "items": items,
                    "status": "refunded" if rng.random() < 0.04 else "completed",
                    "channel": rng.choice(("web", "app", "in_store")),
                    "payment_method": person.get("preferred_payment_method"),
                }
            )
    for purpose in PURPOSES:
        if purpose["lawful_basis"] != "consent" or rng.random() < 0.3:
            continue
        granted = _when(rng, joined, min(end, joined + timedelta(days=1)))
        action = "grant" if rng.random() < 0.75 else "deny"
        data.consents.append(
            {"customer": index, "purpose": purpose["key"], "action": action, "occurred_at": granted}
        )
        if action == "grant" and rng.random() < 0.1:
            data.consents.append(
                {
                    "customer": index,
                    "purpose": purpose["key"],
                    "action": "withdraw",
                    "occurred_at": _when(rng, granted, end),
                }
            )
