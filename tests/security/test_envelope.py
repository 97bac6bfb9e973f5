"""Envelope encryption primitives: values bound to their field and key, keys to their id."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from clientela.security.envelope import (
    KeyUnavailable,
    blind,
    is_sealed,
    key_id_of,
    new_data_key,
    open_value,
    seal_value,
    unwrap_key,
    wrap_key,
)


@given(st.text(min_size=1, max_size=300))
def test_a_sealed_value_opens_to_itself(value: str) -> None:
    cipher = AESGCM(new_data_key())
    token = seal_value(cipher, "c1", "email", value)
    assert is_sealed(token) and key_id_of(token) == "c1"
    if len(value) >= 12:  # shorter strings may occur in base64 by chance
        assert value not in token
    assert open_value(cipher, "email", token) == value


def test_a_value_moved_to_another_field_or_key_does_not_open() -> None:
    key = AESGCM(new_data_key())
    token = seal_value(key, "c1", "email", "ana@example.com")
    with pytest.raises(KeyUnavailable):
        open_value(key, "phone", token)
    with pytest.raises(KeyUnavailable):
        open_value(AESGCM(new_data_key()), "email", token)


def test_a_wrapped_key_is_bound_to_its_id_and_wrapping_key() -> None:
    wrapping, key = new_data_key(), new_data_key()
    wrapped = wrap_key(wrapping, "c1", key)
    assert unwrap_key(wrapping, "c1", wrapped) == key
    with pytest.raises(KeyUnavailable):
        unwrap_key(wrapping, "c2", wrapped)
    with pytest.raises(KeyUnavailable):
        unwrap_key(new_data_key(), "c1", wrapped)


def test_blind_indexes_are_keyed_truncated_and_kind_specific() -> None:
    key = new_data_key()
    index = blind(key, "email", "ana@example.com", 16)
    assert len(index) == 32 and index == blind(key, "email", "ana@example.com", 16)
    assert index != blind(key, "phone", "ana@example.com", 16)
    assert index != blind(new_data_key(), "email", "ana@example.com", 16)
    assert len(blind(key, "email", "ana@example.com", 8)) == 16
