from __future__ import annotations

import pytest

from clientela.domain.errors import InvalidValue
from clientela.domain.identity import parse_identity
from clientela.domain.ids import is_uuid, new_id


def test_parse_identity_normalises_by_kind() -> None:
    assert str(parse_identity("email:Ana@Example.com", region="BR")) == "email:ana@example.com"
    assert str(parse_identity("phone:(11) 98765-4321", region="BR")) == "phone:+5511987654321"
    assert str(parse_identity("document:529.982.247-25", region="BR")) == "document:52998224725"
    key = parse_identity("external:crm:ABC:42", region="BR")
    assert (key.kind, key.value) == ("external:crm", "ABC:42")
    assert parse_identity("user_id: u-1 ", region="BR").value == "u-1"


@pytest.mark.parametrize("text", ["nokind", "fax:123", "external:", "external:crm", "email:x"])
def test_parse_identity_refuses(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_identity(text, region="BR")


def test_ids_are_uuid7_and_increase() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(is_uuid(i) and i[14] == "7" for i in ids[:10])
