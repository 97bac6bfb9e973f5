"""First run: schema, built-in sources, the admin user and a first API key (shown once)."""

from __future__ import annotations

from dataclasses import dataclass

from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import StoreNotReady
from clientela.domain.ids import new_id
from clientela.privacy.retention import ensure_default_policies
from clientela.security.apikeys import create_api_key
from clientela.security.passwords import generate_password, hash_password
from clientela.sources.service import ensure_built_in_sources
from clientela.storage.store import Store

__all__ = ["InitResult", "check_master_key", "initialise_store"]

_KEY_CHECK = "master_key_check"

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
    check_master_key(store)
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
        ensure_default_policies(uow)
        uow.commit()
    return InitResult(True, admin_email, password, key.token)


def check_master_key(store: Store) -> None:
    """Refuse a master key other than the store's (recorded on first use)."""
    keyring = store.keyring()
    with store.unit_of_work() as uow:
        recorded = uow.store_meta.get(_KEY_CHECK)
        if recorded is None:
            uow.store_meta.set(_KEY_CHECK, keyring.check_value, utcnow())
            uow.commit()
        elif recorded != keyring.check_value:
            raise StoreNotReady(
                "The master key does not belong to this store: restore the store's own key "
                "file (or CLIENTELA_MASTER_KEY); a wrong key would not find suppressed people."
            )
