"""The trained duplicate model: what EM learns must describe the same person, whatever the size
of the store and however many people share a name."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from clientela.dedupe import engine
from tests import factories


def _levels(model: dict[str, Any], comparison: str) -> dict[str, float]:
    for found in model["comparisons"]:
        if found["output_column_name"] == comparison:
            return {
                str(level["label_for_charts"]): float(level.get("m_probability") or 0.0)
                for level in found["comparison_levels"]
                if not level.get("is_null_level")
            }
    raise AssertionError(f"no comparison {comparison}")


def namesakes(
    people: int, *, names: tuple[int, int] = (40, 30), seed: int = 3
) -> list[tuple[Any, ...]]:
    """People drawn from a handful of names (most pairs sharing a name are different people,
    as in a large store), a fifth with a duplicate: half of those moved house, some lost
    their birth date. Rows in the shape ``engine.prepare`` reads."""
    rng = random.Random(seed)
    given = [f"given{i}" for i in range(names[0])]
    family = [f"family{i}" for i in range(names[1])]
    places = [(f"city{i}", f"{10000 + i * 7}") for i in range(300)]
    rows: list[tuple[Any, ...]] = []

    def row(key: str, person: dict[str, Any]) -> tuple[Any, ...]:
        return (
            key,
            None,
            person["given"],
            person["family"],
            person["born"],
            None,
            None,
            None,
            person["street"],
            None,
            person["city"],
            None,
            person["postal"],
            "BR",
        )

    for n in range(people):
        city, postal = rng.choice(places)
        person = {
            "given": rng.choice(given),
            "family": rng.choice(family),
            "born": (date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))).isoformat(),
            "street": f"street {rng.randrange(5000)} {rng.randrange(1, 999)}",
            "city": city,
            "postal": postal,
        }
        rows.append(row(f"p{n}-0", person))
        if rng.random() < 0.2:
            copy = dict(person)
            if rng.random() < 0.5:  # moved
                city, postal = rng.choice(places)
                copy.update(street=f"street {rng.randrange(5000)} 1", city=city, postal=postal)
            if rng.random() < 0.2:
                copy["born"] = None
            rows.append(row(f"p{n}-1", copy))
    return rows


def test_em_learns_the_same_person_not_a_common_name() -> None:
    """Where most pairs sharing a name are different people (200 names for 20,000 people,
    as Faker's names at a million), a duplicate still keeps its birth date: with the share
    of matches in a session fixed from untrained weights, EM learned 0.43 here."""
    model = engine.train(engine.prepare(namesakes(20_000, names=(20, 10))), u_max_pairs=2e5)
    birth = _levels(model, "birth_date")
    assert birth["Exact match on birth_date"] >= 0.9, birth


def test_em_learns_that_duplicates_move_house() -> None:
    model = engine.train(engine.prepare(namesakes(6000)), u_max_pairs=2e5)
    birth = _levels(model, "birth_date")
    assert birth["Exact match on birth_date"] >= 0.9, birth
    # Half the duplicates moved: a new address is no proof of two people.
    address = _levels(model, "address_line1")
    assert 0.3 <= address["All other comparisons"] <= 0.7, address


def test_the_spill_directory_goes_with_its_connection(tmp_path: Any, monkeypatch: Any) -> None:
    import gc
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    database = engine._database("duckdb", "256MB")
    assert [p.name.startswith("clientela-duckdb-") for p in tmp_path.iterdir()] == [True]
    del database
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_an_empty_memory_limit_leaves_duckdb_its_default(tmp_path: Any) -> None:

    assert factories.settings(data_dir=tmp_path, dedupe_memory_limit="").dedupe_memory_limit is None
    assert factories.settings(data_dir=tmp_path).dedupe_memory_limit == "3GB"
