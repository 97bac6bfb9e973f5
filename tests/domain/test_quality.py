"""The quality score of one profile and its parts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from clientela.domain.quality import assess

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "c1",
        "given_name": "Ana",
        "family_name": "Lima",
        "email": "ana.lima@example.com",
        "phone": "+5511987654321",
        "birth_date": date(1990, 4, 12),
        "document": "52998224725",
        "address_line1": "Rua do Amparo 12",
        "city": "Olinda",
        "postal_code": "53020-190",
        "country": "BR",
        "created_at": NOW - timedelta(days=10),
        "field_observed": {},
    }
    base.update(overrides)
    return base


def test_a_complete_recent_consistent_profile_scores_high() -> None:
    quality = assess(row(), now=NOW)
    assert quality.score >= 90
    assert quality.invalid == [] and quality.stale == [] and quality.inconsistent == []
    assert quality.parts["uniqueness"] == 1.0


def test_missing_key_fields_are_listed_and_lower_completeness() -> None:
    quality = assess(row(phone=None, birth_date=None), now=NOW)
    assert {"phone", "birth_date"} <= set(quality.missing)
    assert quality.parts["completeness"] < assess(row(), now=NOW).parts["completeness"]


def test_fields_not_confirmed_within_their_period_are_stale() -> None:
    old = (NOW - timedelta(days=800)).isoformat()
    recent = (NOW - timedelta(days=5)).isoformat()
    quality = assess(row(field_observed={"email": [old, "m1"], "phone": [recent, "m2"]}), now=NOW)
    assert quality.stale == ["email"]
    assert assess(row(), now=NOW, staleness_days={"email": 900}).stale == []


def test_shared_values_and_wrong_countries_count_against_the_profile() -> None:
    blocked = assess(
        row(email="test@test.com"), now=NOW, blocked=frozenset({"email:test@test.com"})
    )
    assert blocked.invalid == ["email"]
    foreign = assess(row(phone="+12025550143"), now=NOW)
    assert foreign.inconsistent == ["phone_country"]
    assert assess(row(country=None), now=NOW).inconsistent == ["address_without_country"]


def test_an_open_duplicate_lowers_uniqueness() -> None:
    assert assess(row(), now=NOW, open_duplicates=1).parts["uniqueness"] == 0.0


texts = st.one_of(st.none(), st.text(max_size=30))


@given(
    st.fixed_dictionaries(
        {
            "email": texts,
            "phone": texts,
            "document": texts,
            "postal_code": texts,
            "country": st.one_of(st.none(), st.sampled_from(["BR", "US", "RU", "XX"])),
            "city": texts,
            "birth_date": st.one_of(st.none(), st.dates()),
            "field_observed": st.dictionaries(
                st.sampled_from(["email", "phone", "city"]),
                st.lists(st.text(max_size=30), min_size=1, max_size=2),
            ),
        }
    )
)
def test_any_row_gets_a_score_between_0_and_100(values: dict[str, Any]) -> None:
    quality = assess(row(**values), now=NOW, open_duplicates=0)
    assert 0 <= quality.score <= 100
    assert all(0 <= part <= 1 for part in quality.parts.values())


def test_a_just_validated_row_is_not_validated_again_but_still_meets_the_blocked_list() -> None:
    broken = row(email="not an e-mail")
    assert assess(broken, now=NOW).invalid == ["email"]
    # a new profile's fields were normalised by the same rules a moment before
    assert assess(broken, now=NOW, validated=True).invalid == []
    shared = row(email="test@test.com")
    blocked = frozenset({"email:test@test.com"})
    assert assess(shared, now=NOW, blocked=blocked, validated=True).invalid == ["email"]
    assert assess(row(), now=NOW, validated=True) == assess(row(), now=NOW)
