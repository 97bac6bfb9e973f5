"""The trained duplicate model: what EM learns must describe the same person, whatever the size
of the store and however many people share a name."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

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
    people: int, *, names: tuple[int, int] = (40, 30), seed: int = 3, mailboxes: bool = False
) -> list[tuple[Any, ...]]:
    """People drawn from a handful of names (most pairs sharing a name are different people,
    as in a large store), a fifth with a duplicate: half of those moved house, some lost
    their birth date. With ``mailboxes``, e-mail addresses made of the owner's name (half with
    digits added); a duplicate has the same mailbox name at another provider, or none. Rows in
    the shape ``engine.prepare`` reads."""
    rng = random.Random(seed)
    providers = ("gmail.com", "hotmail.com", "uol.com.br", "yahoo.com.br")
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
            person.get("email"),
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
        if mailboxes:
            user = f"{person['given']}.{person['family']}"
            user += str(10 + n) if rng.random() < 0.5 else ""  # digits of its own
            person["email"] = f"{user}@{rng.choice(providers)}"
        rows.append(row(f"p{n}-0", person))
        if rng.random() < 0.2:
            copy = dict(person)
            if rng.random() < 0.5:  # moved
                city, postal = rng.choice(places)
                copy.update(street=f"street {rng.randrange(5000)} 1", city=city, postal=postal)
            if rng.random() < 0.2:
                copy["born"] = None
            if mailboxes:
                user, _, provider = person["email"].partition("@")
                other = rng.choice([p for p in providers if p != provider])
                copy["email"] = f"{user}@{other}" if rng.random() < 0.5 else None
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


def test_namesakes_mailboxes_named_after_them_are_no_evidence_of_one_person() -> None:
    """ "given3.family7@gmail.com" and "given3.family7@uol.com.br" are as often two namesakes as
    one person; Splink's e-mail comparison counted the shared name a second time and joined
    different people. A mailbox name's own digits still find the person at another provider."""
    rows = namesakes(8000, mailboxes=True)
    table = engine.prepare(rows)
    model = engine.train(table, u_max_pairs=2e5)
    found = [pair for batch in engine.predict(model, table, threshold=0.9) for pair in batch]
    email = {row[0]: row[5] for row in rows}
    people = [(pair.left_id.split("-")[0], pair.right_id.split("-")[0]) for pair in found]
    # Namesakes born the same day may still be joined; their mailboxes must not add to it.
    joined_by_mailbox = [
        (pair.left_id, pair.right_id, email[pair.left_id], email[pair.right_id])
        for pair, (left, right) in zip(found, people, strict=True)
        if left != right and pair.explanation["email"]["weight"] > 0
    ]
    assert not joined_by_mailbox, joined_by_mailbox[:3]
    numbered = {  # duplicates whose mailbox name carries the person's own number
        row[0].split("-")[0]
        for row in rows
        if row[0].endswith("-1") and row[5] and row[5].split("@")[0] != f"{row[2]}.{row[3]}"
    }
    joined = {left for left, right in people if left == right}
    assert len(numbered & joined) >= 0.95 * len(numbered), (len(numbered), len(joined))


def test_a_mailbox_mark_is_what_the_mailbox_name_adds_to_its_owner_name() -> None:
    assert engine.mailbox_mark("maria.silva1987", "maria", "silva") == "1987"
    assert engine.mailbox_mark("joao_souza", "joao pedro", "souza") is None
    assert engine.mailbox_mark("pedrinho.souza", "pedro", "souza") == "pedrinho"
    assert engine.mailbox_mark("msilva", "maria", "silva") is None  # one letter says nothing
    assert engine.mailbox_mark("ana.da.conceicao", "ana", "da conceicao") is None
    assert engine.mailbox_mark("Maria.Silva.Xuxa", "maria", "silva") == "xuxa"
    assert engine.mailbox_mark("xuxa", None, None) == "xuxa"
    assert engine.mailbox_mark(None, "maria", "silva") is None


@given(
    names=st.lists(
        st.from_regex(r"[a-z]{2,8}", fullmatch=True), min_size=1, max_size=3, unique=True
    ),
    digits=st.from_regex(r"[0-9]{0,4}", fullmatch=True),
    separator=st.sampled_from(["", ".", "_", "-"]),
)
def test_a_mailbox_made_of_its_owner_names_leaves_only_what_was_added(
    names: list[str], digits: str, separator: str
) -> None:
    mailbox = separator.join(names) + digits
    assume(all(mailbox.count(name) == 1 for name in names))  # no name inside another
    given, family = names[0], " ".join(names[1:]) or None
    mark = engine.mailbox_mark(mailbox, given, family)
    assert mark == (digits if len(digits) > 1 else None)


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


def test_a_scored_pair_explains_each_comparison_by_the_level_its_weight_fell_in() -> None:
    import pyarrow as pa

    levels = {
        "name": [(0.0, "missing"), (8.5, "exact"), (2.25, "one typo"), (-4.0, "different")],
        "city": [(0.0, "missing"), (3.0, "exact"), (-1.5, "different")],
    }
    table = pa.table(
        {
            "unique_id_l": ["b", "c", "a"],
            "unique_id_r": ["a", "d", "e"],
            "match_probability": [0.99, 0.6, 0.1],
            "match_weight": [9.1, 1.2, -3.0],
            "mw_name": [8.5, 2.25, -4.0],
            "mw_tf_adj_name": [1.23456, 0.0, 0.0],
            "mw_city": [3.0, -1.5, 0.0],
        }
    )
    pairs = [pair for batch in engine._pairs(table, levels, batch_size=2) for pair in batch]
    assert [(p.left_id, p.right_id, p.probability, p.match_weight) for p in pairs] == [
        ("a", "b", 0.99, 9.1),
        ("c", "d", 0.6, 1.2),
        ("a", "e", 0.1, -3.0),
    ]
    assert pairs[0].explanation == {
        "name": {"level": "exact", "weight": 8.5, "frequency_adjustment": 1.235},
        "city": {"level": "exact", "weight": 3.0},
    }
    assert pairs[1].explanation == {
        "name": {"level": "one typo", "weight": 2.25},
        "city": {"level": "different", "weight": -1.5},
    }
    assert pairs[2].explanation == {
        "name": {"level": "different", "weight": -4.0},
        "city": {"level": "missing", "weight": 0.0},
    }


def _u(model: dict[str, Any], comparison: str) -> list[float]:
    for found in model["comparisons"]:
        if found["output_column_name"] == comparison:
            return [
                float(level.get("u_probability") or 0.0)
                for level in found["comparison_levels"]
                if not level.get("is_null_level")
            ]
    raise AssertionError(f"no comparison {comparison}")


def _brute_force_share(rows: list[tuple[Any, ...]], columns: tuple[int, ...]) -> float:
    """Share of pairs, among those with every column filled on both sides, that agree on all
    of them — every pair looked at."""
    agree = total = 0
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if all(a[c] is not None and b[c] is not None for c in columns):
                total += 1
                agree += all(a[c] == b[c] for c in columns)
    return agree / total


def test_u_of_exact_agreement_is_counted_not_sampled() -> None:
    """The first level's u of birth date, place and the names is the share of all pairs
    that agree, and the same whatever the records' ids: Splink's sample of records depends on
    the ids, and a sampled u of an equal birth date moved a million people's commonest
    duplicate pattern across the auto-merge threshold."""
    rows = namesakes(600, names=(6, 5), seed=11)
    table = engine.prepare(rows)
    renamed = engine.prepare([(f"other-{r[0]}", *r[1:]) for r in rows])
    first = engine.train(table, u_max_pairs=2e4)
    second = engine.train(renamed, u_max_pairs=2e4, seed=8)
    at = {name: i for i, name in enumerate(("id", "changed", *engine.MATCH_COLUMNS))}
    for comparison, columns in (
        ("birth_date", ("birth_date",)),
        ("place", ("postal_code", "city")),
        ("given_name_family_name", ("given_name", "family_name")),
    ):
        expected = _brute_force_share(rows, tuple(at[c] for c in columns))
        assert _u(first, comparison)[0] == _u(second, comparison)[0]
        assert abs(_u(first, comparison)[0] - expected) < 1e-12, comparison
        assert abs(sum(_u(first, comparison)) - 1) < 1e-9, comparison


def test_exact_u_leaves_levels_it_cannot_count_alone() -> None:
    model = {
        "comparisons": [
            {
                "output_column_name": "fuzzy",
                "comparison_levels": [
                    {"sql_condition": '"x_l" IS NULL OR "x_r" IS NULL', "is_null_level": True},
                    {"sql_condition": 'levenshtein("x_l", "x_r") <= 1', "u_probability": 0.2},
                    {"sql_condition": "ELSE", "u_probability": 0.8},
                ],
            }
        ]
    }
    table = engine.prepare(namesakes(50))
    assert engine.count_exact_u(model, table) == {}
    assert [
        level.get("u_probability") for level in model["comparisons"][0]["comparison_levels"]
    ] == [
        None,
        0.2,
        0.8,
    ]
