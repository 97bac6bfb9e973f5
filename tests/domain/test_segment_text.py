"""The text form of segments: JSON -> text -> JSON gives the flattened tree, text -> JSON ->
text gives the text, and syntax errors name the position."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from clientela.domain.errors import ValidationFailed
from clientela.domain.segment_text import from_text, normalise, to_text
from tests.segments.test_compiler import trees


@given(trees)
@settings(max_examples=300, deadline=None)
def test_json_text_json(tree: dict[str, Any]) -> None:
    text = to_text(tree)
    assert from_text(text) == normalise(tree)
    assert to_text(from_text(text)) == text


def test_examples_read_as_people_write_them() -> None:
    text = (
        'country = "BR" and (orders sum within 365 days > 50000 or score.rfm_segment = "Champions")'
    )
    assert from_text(text) == {
        "all": [
            {"field": "country", "op": "eq", "value": "BR"},
            {
                "any": [
                    {"orders": {"measure": "sum", "within_days": 365}, "op": "gt", "value": 50000},
                    {"field": "score.rfm_segment", "op": "eq", "value": "Champions"},
                ]
            },
        ]
    }
    assert to_text(from_text(text)) == text
    assert from_text("not identity.phone is empty and birth_date < 1990-01-01") == {
        "all": [
            {"not": {"field": "identity.phone", "op": "is_empty"}},
            {"field": "birth_date", "op": "lt", "value": "1990-01-01"},
        ]
    }
    assert from_text('events named "Product Viewed" within 30 days >= 2') == {
        "events": {"name": "Product Viewed", "within_days": 30},
        "op": "gte",
        "value": 2,
    }
    assert from_text('city in ["Recife", "Natal"] and quality_score between 60 and 100') == {
        "all": [
            {"field": "city", "op": "in", "value": ["Recife", "Natal"]},
            {"field": "quality_score", "op": "between", "value": [60, 100]},
        ]
    }
    assert from_text("not (a = 1 and b = 2)") == {
        "not": {
            "all": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 2}]
        }
    }


@pytest.mark.parametrize(
    ("text", "position"),
    [('country = "BR" and', 18), ("country ~ 1", 8), ("(a = 1", 6), ("a = 1 b = 2", 6)],
)
def test_syntax_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        from_text(text)
    assert caught.value.errors[0].field == f"text[{position}]"


def test_first_and_last_read_without_a_window() -> None:
    """ "orders first within 30 days" is the condition itself (found by the round-trip
    property): a window is only what comes before another date condition."""
    assert from_text("orders first within 0 days") == {
        "orders": {"measure": "first"},
        "op": "within_days",
        "value": 0,
    }
    assert from_text("orders last within 365 days older than 30 days") == {
        "orders": {"measure": "last", "within_days": 365},
        "op": "older_than_days",
        "value": 30,
    }
    assert from_text('events named "App Opened" last older than 30 days') == {
        "events": {"name": "App Opened", "measure": "last"},
        "op": "older_than_days",
        "value": 30,
    }
