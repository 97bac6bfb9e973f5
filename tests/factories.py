"""Plain factory functions for tests: valid inputs with overrides, and the objects around them."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from typing import Any

from clientela.domain.actor import Actor
from clientela.security.keyring import Keyring
from clientela.settings import Settings

#: the master key of every test store (tests need no key file)
TEST_KEYRING = Keyring(bytes(range(32)))

_sequence = itertools.count(1)


def unique() -> int:
    return next(_sequence)


def cpf(seed: int) -> str:
    """A valid CPF derived from ``seed`` (check digits computed)."""
    rng = random.Random(seed)
    digits = [rng.randint(0, 9) for _ in range(9)]
    if len(set(digits)) == 1:
        digits[0] = (digits[0] + 1) % 10
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        digits.append(0 if (total * 10) % 11 == 10 else (total * 10) % 11)
    return "".join(map(str, digits))


def br_mobile(n: int) -> str:
    """A valid Brazilian mobile number, unique for ``n`` < 10 million, in national format."""
    return f"(11) 9{8 - (n // 10_000_000) % 3}{(n // 10_000) % 1000:03d}-{n % 10_000:04d}"


def customer_payload(**overrides: Any) -> dict[str, Any]:
    n = unique()
    payload: dict[str, Any] = {
        "given_name": "Ana",
        "family_name": f"Souza {chr(65 + n % 26)}",
        "email": f"ana.souza.{n}@example.com",
        "phone": br_mobile(n),
        "birth_date": "1990-04-12",
        "city": "São Paulo",
        "country": "BR",
        "postal_code": "01310-100",
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not ...}


def actor(role: str = "admin") -> Actor:
    return Actor(kind="system", id="tests", role=role, scopes=frozenset({"admin", "read", "write"}))


def settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def stored_customer(store: Any, settings: Settings, **fields: Any) -> dict[str, Any]:
    """A customer created through the service (``customer_payload`` with ``fields``), committed."""
    from clientela.customers.service import create_customer

    with store.unit_of_work() as uow:
        profile = create_customer(uow, customer_payload(**fields), actor=actor(), settings=settings)
        uow.commit()
    return profile


def joana_silva(store: Any, settings: Settings, n: int, **fields: Any) -> dict[str, Any]:
    """The person the web tests search for: known name, e-mail and phone, CPF number ``n``."""
    return stored_customer(
        store,
        settings,
        **{
            "given_name": "Joana",
            "family_name": "Silva",
            "email": "joana.silva@gmail.com",
            "phone": "+55 81 98765-4321",
            "document": cpf(n),
            **fields,
        },
    )


def stored_orders(
    store: Any,
    customer_id: str,
    orders: list[tuple[datetime, int, list[dict[str, Any]]]],
    *,
    status: str = "completed",
) -> None:
    """Completed orders (time, amount in minor units, items) of one customer, committed."""
    from clientela.domain.ids import new_id

    with store.unit_of_work() as uow:
        source = uow.sources.get_by_name("api")
        uow.transactions.insert_many(
            [
                {
                    "id": new_id(),
                    "customer_id": customer_id,
                    "source_id": source["id"],
                    "order_id": new_id(),
                    "status": status,
                    "occurred_at": at,
                    "amount_minor": amount,
                    "refunded_minor": 0,
                    "currency": "BRL",
                    "items": items,
                    "created_at": at,
                    "updated_at": at,
                }
                for at, amount, items in orders
            ]
        )
        uow.commit()


USER_PASSWORD = "correct horse battery staple 42"


def user(store: Any, role: str, email: str, *, mfa: bool = False) -> dict[str, Any]:
    """A user created through the service, with MFA enrolled (its TOTP secret returned) when
    asked; the password is ``USER_PASSWORD``."""
    import pyotp

    from clientela.security import users

    with store.unit_of_work() as uow:
        created = users.create_user(
            uow, email=email, role=role, password=USER_PASSWORD, actor=actor()
        )
        secret = None
        if mfa:
            secret = users.start_mfa_enrolment(uow, created["id"], password=USER_PASSWORD)["secret"]
            users.confirm_mfa(uow, created["id"], pyotp.TOTP(secret).now())
        uow.commit()
    return {**created, "password": USER_PASSWORD, "totp_secret": secret}


def registered_purposes(store: Any) -> None:
    """The demo catalogue's purposes (marketing_email, analytics, ...) in the register."""
    from clientela.demo.catalogue import PURPOSES
    from clientela.privacy.register import create_purpose

    with store.unit_of_work() as uow:
        for purpose in PURPOSES:
            create_purpose(uow, dict(purpose), actor=actor())
        uow.commit()


def people_with_duplicates(
    store: Any, settings: Settings, n: int = 600, seed: int = 3
) -> tuple[dict[int, str], set[tuple[str, str]]]:
    """Demo people stored with their known near-duplicates: (index -> customer id, the true
    duplicate pairs as sorted id pairs)."""
    from clientela.customers.service import create_customers
    from clientela.demo.generator import generate

    data = generate(n, seed=seed)
    records = [{k: v for k, v in p.items() if not k.startswith("_")} for p in data.customers]
    with store.unit_of_work() as uow:
        result = create_customers(uow, records, actor=actor(), settings=settings, source="demo")
        uow.commit()
    refused = {r.index for r in result.rejected}
    created = iter(result.created)
    ids = {i: next(created) for i in range(len(records)) if i not in refused}
    truth: set[tuple[str, str]] = set()
    for a, b in data.duplicates:
        if a in ids and b in ids:
            left, right = sorted((ids[a], ids[b]))
            truth.add((left, right))
    return ids, truth
