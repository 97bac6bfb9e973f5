"""Who is acting: recorded in the audit trail of every read and write of personal data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Actor", "utcnow"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # api_key, user, cli, system
    id: str
    role: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None
    ip: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def system(cls, name: str = "clientela") -> Actor:
        return cls(kind="system", id=name, role="admin", scopes=frozenset({"admin"}))

    @classmethod
    def cli(cls) -> Actor:
        import getpass

        return cls(kind="cli", id=getpass.getuser(), role="admin", scopes=frozenset({"admin"}))


def utcnow() -> datetime:
    return datetime.now(UTC)
