"""validate_changes: one function for every write path."""

from __future__ import annotations

from datetime import date

import pytest

from clientela.domain.attributes import AttributeDefinition, AttributeType, Category, Sensitivity
from clientela.domain.errors import ValidationFailed
from clientela.domain.fields import CORE_FIELDS, ValidationContext, validate_changes

CONTEXT = ValidationContext(region="BR", today=date(2026, 11, 23))
TIER = AttributeDefinition(
    "tier",
    AttributeType.ENUM,
    Category.BEHAVIOURAL,
    Sensitivity.PERSONAL,
    enum_values=("gold", "silver"),
)
REGISTRY = {"tier": TIER}


def test_every_core_field_has_one_of_the_five_categories() -> None:
    assert {spec.category.value for spec in CORE_FIELDS.values()} == {
        "personal",
        "demographic",
        "behavioural",
        "psychographic",
        "transactional",
    }


def test_normalises_and_derives_names() -> None:
    changes = validate_changes(
        {
            "full_name": "maria DA silva",
            "email": "M@Example.com",
            "phone": "(11) 98765-4321",
            "interests": ["Yoga", "yoga", "Cooking"],
            "attributes": {"tier": "gold"},
        },
        context=CONTEXT,
        registry=REGISTRY,
    )
    assert changes.fields["given_name"] == "Maria"
    assert changes.fields["family_name"] == "da Silva"
    assert changes.fields["email"] == "m@example.com"
    assert changes.fields["phone"] == "+5511987654321"
    assert changes.fields["interests"] == ["cooking", "yoga"]
    assert changes.attributes == {"tier": "gold"}


def test_name_parts_rebuild_the_full_name_from_the_current_profile() -> None:
    changes = validate_changes(
        {"given_name": "mariana"},
        context=CONTEXT,
        registry={},
        current={"given_name": "Maria", "family_name": "Souza"},
    )
    assert changes.fields["full_name"] == "Mariana Souza"


def test_phone_uses_the_country_of_the_profile() -> None:
    changes = validate_changes(
        {"phone": "8 (912) 345-67-89", "country": "RU"}, context=CONTEXT, registry={}
    )
    assert changes.fields["phone"] == "+79123456789"


def test_every_offending_field_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_changes(
            {
                "email": "nope",
                "phone": "123",
                "document": "111.111.111-11",
                "birth_date": "2999-01-01",
                "nickname": "x",
                "event_count": 3,
                "household_size": "3",
                "attributes": {"tier": "bronze", "undeclared": 1},
            },
            context=CONTEXT,
            registry=REGISTRY,
        )
    fields = {error.field: error.code for error in caught.value.errors}
    assert fields == {
        "email": "invalid_email",
        "phone": "invalid_phone",
        "document": "invalid_document",
        "birth_date": "future_date",
        "nickname": "unknown_field",
        "event_count": "read_only",
        "household_size": "type",
        "attributes.tier": "invalid_choice",
        "attributes.undeclared": "undeclared_attribute",
    }


def test_null_and_blank_clear_a_field() -> None:
    changes = validate_changes(
        {"city": None, "region": "  ", "attributes": {"tier": None}},
        context=CONTEXT,
        registry=REGISTRY,
    )
    assert changes.fields == {"city": None, "region": None}
    assert changes.attributes == {"tier": None}
