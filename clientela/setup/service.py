"""First run: schema, built-in sources, the admin user and a first API key (shown once)."""

from __future__ import annotations

from dataclasses import dataclass

from clientela.domain.actor import Actor, utcnow
from clientela.domain.ids import new_id
from clientela.security.apikeys import create_api_key
from clientela.security.passwords import generate_password, hash_password
from clientela.sources.service import ensure_built_in_sources
from clientela.storage.store import Store

__all__ = ["InitResult", "initialise_store"]

DEFAULT_ADMIN_EMAIL = "admin@clientela.local"


@dataclass(frozen=True, slots=True)
class InitResult:
    created: bool
    admin_email: str
    admin_password: str | None
    api_key: str | None


def initialise_store(store: Store, *, admin_email: str = DEFAULT_ADMIN_EMAIL) -> InitResult:
    """Bring the schema to the latest version; on an empty store create the admin and a key."""
    store.upgrade()
    with store.unit_of_work() as uow:
        ensure_built_in_sources(uow)
        if uow.users.count():
            uow.commit()
            return InitResult(False, admin_email, None, None)
        password = generate_password()
        uow.users.add(
            {
                "id": new_id(),
                "email": admin_email,
                "display_name": "Administrator",
                "password_hash": hash_password(password),
                "role": "admin",
                "must_change_password": True,
                "created_at": utcnow(),
            }
        )
        key = create_api_key(uow, name="first admin key", role="admin", actor=Actor.system())
        uow.commit()
    return InitResult(True, admin_email, password, key.token)
