"""Fast synthetic people for benchmarks: valid for every normaliser, unique identities."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

GIVEN = (
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elisa",
    "Felipe",
    "Gabriela",
    "Henrique",
    "Isabela",
    "João",
    "Karina",
    "Lucas",
    "Mariana",
    "Nicolas",
    "Olívia",
    "Pedro",
    "Rafaela",
    "Samuel",
    "Tatiana",
    "Vitor",
    "Yasmin",
    "Otávio",
    "Letícia",
    "Igor",
    "Renata",
    "Sérgio",
    "Helena",
)
FAMILY = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
)
AREAS = (11, 21, 31, 41, 51, 61, 71, 81, 91, 12, 13, 19, 27, 48, 85)


def cpf(n: int) -> str:
    digits = [int(ch) for ch in f"{(n * 7919 + 100_000_000) % 1_000_000_000:09d}"]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        digits.append(0 if (total * 10) % 11 == 10 else (total * 10) % 11)
    return "".join(map(str, digits))


def phone(n: int) -> str:
    area = AREAS[n % len(AREAS)]
    rest = n // len(AREAS)
    return f"({area}) 9{6 + rest // 10_000_000 % 4}{rest % 10_000_000 // 10_000:03d}-{rest % 10_000:04d}"


def people(count: int, *, start: int = 0, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for n in range(start, start + count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        yield {
            "given_name": given,
            "family_name": f"{family} {rng.choice(FAMILY)}",
            "email": f"{given.lower()}.{n}@example.com".replace("ã", "a")
            .replace("é", "e")
            .replace("í", "i")
            .replace("ó", "o")
            .replace("á", "a")
            .replace("ô", "o"),
            "phone": phone(n),
            "document": cpf(n),
            "birth_date": f"{1950 + n % 50}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "city": "São Paulo",
            "country": "BR",
            "postal_code": f"{n % 100000:05d}-{n % 1000:03d}",
            "interests": ["coffee", "running"][: n % 3],
        }
