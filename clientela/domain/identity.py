"""Identities: the keys by which a person is recognised (e-mail, phone, document, ids)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clientela.domain.errors import InvalidValue
from clientela.domain.values import normalise_cpf, normalise_email, normalise_phone, normalise_text

__all__ = [
    "DEFAULT_BLOCKLIST",
    "IDENTITY_KINDS",
    "IdentityKey",
    "normalise_identity",
    "parse_identity",
]

IDENTITY_KINDS = ("email", "phone", "document", "user_id", "anonymous_id")
_EXTERNAL = re.compile(r"^external:[a-z0-9][a-z0-9_.-]{0,62}$")
MAX_ID_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IdentityKey:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def check_kind(kind: str) -> str:
    kind = kind.strip().lower()
    if kind in IDENTITY_KINDS or _EXTERNAL.match(kind):
        return kind
    raise InvalidValue(
        "identity kind must be one of email, phone, document, user_id, anonymous_id or "
        "external:<source>",
        "invalid_identity_kind",
    )


def normalise_identity(kind: str, value: str, *, region: str) -> IdentityKey:
    kind = check_kind(kind)
    if kind == "email":
        return IdentityKey(kind, normalise_email(value))
    if kind == "phone":
        return IdentityKey(kind, normalise_phone(value, region=region))
    if kind == "document":
        return IdentityKey(kind, normalise_cpf(value))
    # Ids from other systems are opaque: only trimmed, never re-cased.
    return IdentityKey(kind, normalise_text(value, max_length=MAX_ID_LENGTH, field_label="id"))


def parse_identity(text: str, *, region: str) -> IdentityKey:
    """``KIND:VALUE`` as used by the CLI; ``external:crm:123`` has kind ``external:crm``."""
    if text.startswith("external:"):
        kind, sep, value = text.rpartition(":") if text.count(":") >= 2 else ("", "", "")
        if not sep:
            raise InvalidValue("write the identity as external:SOURCE:VALUE", "invalid_identity")
        # An external id may itself contain ':'; the source name cannot.
        source, _, rest = text[len("external:") :].partition(":")
        kind, value = f"external:{source}", rest
    else:
        kind, sep, value = text.partition(":")
        if not sep:
            raise InvalidValue(
                "write the identity as KIND:VALUE, e.g. email:ana@example.com", "invalid_identity"
            )
    return normalise_identity(kind, value, region=region)


#: Values that many people type or send and that identify nobody: they never link profiles and
#: count as invalid in quality scores.
DEFAULT_BLOCKLIST = frozenset(
    {
        "email:test@test.com",
        "email:test@example.com",
        "email:noreply@example.com",
        "email:a@a.com",
        "document:00000000000",
        "document:11111111111",
        "user_id:undefined",
        "user_id:null",
        "user_id:0",
        "anonymous_id:undefined",
        "anonymous_id:null",
        "anonymous_id:0",
    }
)
