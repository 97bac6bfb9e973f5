"""The master key: created once with the store, never in the database, a wrong or lost key is
a clear error, derived keys are independent."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from clientela.domain.errors import StoreNotReady
from clientela.security.keyring import Keyring, load_master_key
from clientela.setup.service import check_master_key, initialise_store
from clientela.storage.store import Store


def test_key_file_is_created_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLIENTELA_MASTER_KEY", raising=False)
    with pytest.raises(StoreNotReady, match=r"master\.key is missing"):
        load_master_key(tmp_path)
    first = load_master_key(tmp_path, create=True)
    path = tmp_path / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(tmp_path).check_value == first.check_value


def test_derived_keys_differ_per_use() -> None:
    keyring = Keyring(bytes(32))
    assert keyring.derive("suppression") != keyring.derive("verification")
    assert keyring.keyed_hash("suppression", "email:a@b.c") != keyring.keyed_hash(
        "verification", "email:a@b.c"
    )
    with pytest.raises(StoreNotReady, match="32 bytes"):
        Keyring(b"short")


def test_a_store_refuses_another_stores_key(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'c.db'}"
    secret = os.urandom(32)
    own = Store(url, keyring=Keyring(secret))
    initialise_store(own)
    own.dispose()
    raw = (tmp_path / "c.db").read_bytes()
    assert secret not in raw and base64.urlsafe_b64encode(secret) not in raw
    assert Keyring(secret).derive("suppression") not in raw
    other = Store(url, keyring=Keyring(os.urandom(32)))
    with pytest.raises(StoreNotReady, match="does not belong to this store"):
        check_master_key(other)
    other.dispose()
