"""Envelope encryption of personal fields: one data key per customer, wrapped by the master.

A sealed value is text: ``PREFIX``, the id of the data key (the customer's id when the key was
made), then URL-safe base64 of nonce and AES-256-GCM ciphertext. The field's name is the
additional data, so a value moved into another field (or another person's row) does not open.
Carrying the key id lets a value stay readable when its row moves to another profile by a
merge, and lets erasure destroy exactly the keys of the people erased.

Blind indexes make exact look-ups possible without the plain value: a keyed HMAC of kind and
normalised value, truncated to a set number of bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BLINDED_KINDS",
    "PREFIX",
    "SEALED_FIELDS",
    "KeyUnavailable",
    "blind",
    "is_sealed",
    "key_id_of",
    "new_data_key",
    "open_body",
    "open_value",
    "seal_value",
    "unwrap_key",
    "wrap_key",
]

#: A record-separator character starts every sealed value: no normalised input contains it.
PREFIX = "\x1ec1:"
#: Profile fields stored sealed: contact data and the national document. Birth date, city,
#: region and postal code stay plain so age and place segments, quality scores and duplicate
#: blocking keep working in SQL (docs/ARCHITECTURE.md, "Field encryption").
SEALED_FIELDS = ("email", "phone", "document", "address_line1", "address_line2")
#: Identity kinds stored as blind indexes (their values are the sealed fields above).
BLINDED_KINDS = frozenset({"email", "phone", "document"})
_NONCE = 12


class KeyUnavailable(Exception):
    """The data key of a sealed value is gone (crypto-shredded) or cannot be unwrapped."""


def new_data_key() -> bytes:
    return secrets.token_bytes(32)


def wrap_key(wrapping_key: AESGCM | bytes, key_id: str, key: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + _cipher(wrapping_key).encrypt(nonce, key, key_id.encode())


def unwrap_key(wrapping_key: AESGCM | bytes, key_id: str, wrapped: bytes) -> bytes:
    try:
        return _cipher(wrapping_key).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], key_id.encode())
    except InvalidTag:
        raise KeyUnavailable(f"data key {key_id} does not unwrap with this master key") from None


def _cipher(key: AESGCM | bytes) -> AESGCM:
    return key if isinstance(key, AESGCM) else AESGCM(key)


def seal_value(cipher: AESGCM, key_id: str, field: str, value: str) -> str:
    nonce = secrets.token_bytes(_NONCE)
    sealed = cipher.encrypt(nonce, value.encode(), field.encode())
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def is_sealed(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id_of(token: str) -> str:
    return token[len(PREFIX) :].split(":", 1)[0]


def open_value(cipher: AESGCM, field: str, token: str) -> str:
    return open_body(cipher, field, token[len(PREFIX) :].split(":", 1)[1])


def open_body(cipher: AESGCM, field: str, body: str) -> str:
    """Open the part of a sealed value after its key id (for callers that split it already)."""
    raw = base64.urlsafe_b64decode(body)
    try:
        return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], field.encode()).decode()
    except InvalidTag:
        raise KeyUnavailable(f"a sealed {field} does not open with its data key") from None


def blind(index_key: bytes | hmac.HMAC, kind: str, value: str, size: int) -> str:
    """The blind index of one identity: hex of the first ``size`` bytes of its HMAC.

    ``index_key`` may be the keyed state already built (``hmac.new(key, digestmod=sha256)``):
    copying it costs far less than keying a new HMAC per value on look-up paths."""
    state = (
        index_key.copy()
        if isinstance(index_key, hmac.HMAC)
        else hmac.new(index_key, digestmod=hashlib.sha256)
    )
    state.update(f"{kind}\x1f{value}".encode())
    return state.digest()[:size].hex()
