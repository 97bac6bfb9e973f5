"""The master key and the keys derived from it.

The master key never enters the database: it comes from ``CLIENTELA_MASTER_KEY`` (URL-safe
base64 of 32 bytes) or from the key file (``master.key`` in the data directory, mode 0600,
created with a new store). The store keeps only a check value, so a wrong or lost key is a
clear error at start-up and never silently produces hashes that match nothing.

Keys for each use are derived with HKDF-SHA256 and a label from the store's **root key**, so
one use's key says nothing about another's: ``suppression`` keys the hashes of the suppression
list, ``blind-index`` the blind indexes of sealed identities. A store starts with the master
key as its root; rotating the master key wraps the root under the new master (kept in
``store_meta``) so derived keys, hashes and old backups stay valid, while the customers' data
keys are re-wrapped under the new master's wrapping key (``security/envelope.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clientela.domain.errors import StoreNotReady

__all__ = ["Keyring", "load_master_key", "write_key_file"]

MASTER_KEY_ENV = "CLIENTELA_MASTER_KEY"
KEY_FILE_NAME = "master.key"
_KEY_BYTES = 32


class Keyring:
    def __init__(self, master: bytes, *, root: bytes | None = None) -> None:
        if len(master) != _KEY_BYTES:
            raise StoreNotReady(f"The master key must be {_KEY_BYTES} bytes, not {len(master)}.")
        self._master = master
        self._root = root or master
        self._derived: dict[str, bytes] = {}
        self._wrapping: bytes | None = None
        self.resolved = root is not None

    @classmethod
    def generate(cls) -> Keyring:
        return cls(secrets.token_bytes(_KEY_BYTES))

    def derive(self, label: str) -> bytes:
        key = self._derived.get(label)
        if key is None:
            key = _hkdf(self._root, label)
            self._derived[label] = key
        return key

    # --- the master key's own uses: wrapping keys, recognising itself --------------------------

    @property
    def wrapping_key(self) -> bytes:
        """Wraps the customers' data keys and the root key; changes when the master rotates.
        Derived once: every profile read unwraps its data key with it."""
        if self._wrapping is None:
            self._wrapping = _hkdf(self._master, "key-wrap")
        return self._wrapping

    @property
    def master_check(self) -> str:
        """Identifies the master key (not the root) without revealing it."""
        return hmac.new(
            _hkdf(self._master, "master-check"), b"clientela master key", hashlib.sha256
        ).hexdigest()

    def wrapped_root(self) -> str:
        """The root key sealed under this master (what ``store_meta`` keeps after a rotation)."""
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.wrapping_key).encrypt(nonce, self._root, b"root-key")
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def with_store(self, wrapped_root: str | None, master_check: str | None) -> Keyring:
        """This master with the root the store keeps: a wrong master key is refused here,
        at start-up, before anything is read or hashed with it."""
        if master_check is not None and not hmac.compare_digest(master_check, self.master_check):
            raise StoreNotReady(
                "The master key does not belong to this store (its check value differs). Use "
                "the key file this store was created or last rotated with."
            )
        if wrapped_root is None:
            resolved = Keyring(self._master, root=self._master)
        else:
            raw = base64.urlsafe_b64decode(wrapped_root.encode())
            try:
                root = AESGCM(self.wrapping_key).decrypt(raw[:12], raw[12:], b"root-key")
            except InvalidTag:
                raise StoreNotReady(
                    "The master key cannot open this store's root key: wrong master key."
                ) from None
            resolved = Keyring(self._master, root=root)
        return resolved

    def rotated(self) -> Keyring:
        """A new master key for the same root."""
        return Keyring(secrets.token_bytes(_KEY_BYTES), root=self._root)

    def encoded_master(self) -> str:
        return base64.urlsafe_b64encode(self._master).decode()

    def keyed_hash(self, label: str, message: str) -> str:
        """HMAC-SHA256 under the key derived for ``label``, as hex."""
        return hmac.new(self.derive(label), message.encode(), hashlib.sha256).hexdigest()

    def seal(self, label: str, plaintext: bytes, context: bytes = b"") -> str:
        """AES-256-GCM under the key for ``label``; ``context`` is bound to it (AAD)."""
        return base64.urlsafe_b64encode(self.seal_bytes(label, plaintext, context)).decode()

    def open(self, label: str, sealed: str, context: bytes = b"") -> bytes:
        return self.open_bytes(label, base64.urlsafe_b64decode(sealed.encode()), context)

    def seal_bytes(self, label: str, plaintext: bytes, context: bytes = b"") -> bytes:
        """As ``seal``, nonce and ciphertext as bytes (for files)."""
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.derive(label)).encrypt(nonce, plaintext, context)

    def open_bytes(self, label: str, sealed: bytes, context: bytes = b"") -> bytes:
        try:
            return AESGCM(self.derive(label)).decrypt(sealed[:12], sealed[12:], context)
        except (InvalidTag, ValueError):
            raise StoreNotReady(f"A {label} secret cannot be decrypted with this key.") from None

    @property
    def check_value(self) -> str:
        """Identifies the key without revealing it (stored to detect a wrong key)."""
        return self.keyed_hash("check", "clientela master key")


def _hkdf(secret: bytes, label: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"clientela/" + label.encode()
    ).derive(secret)


def write_key_file(path: Path, keyring: Keyring) -> None:
    """Write the master key to ``path`` (mode 0600) whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(keyring.encoded_master() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def load_master_key(data_dir: Path, *, create: bool = False) -> Keyring:
    """The master key from the environment or the key file; a new file when ``create``."""
    encoded = os.environ.get(MASTER_KEY_ENV)
    if encoded:
        return Keyring(_decode(encoded, MASTER_KEY_ENV))
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return Keyring(_decode(path.read_text().strip(), str(path)))
    pending = path.with_name(KEY_FILE_NAME + ".new")
    if not create and pending.exists():
        raise StoreNotReady(
            f"{path} is missing but {pending} exists: a key rotation stopped half-way. If the "
            "store no longer opens with the old key, rename the .new file to master.key."
        )
    if not create:
        raise StoreNotReady(
            f"No master key: {path} is missing and {MASTER_KEY_ENV} is not set. Restore the key "
            "file from your key backup; without it suppression checks and encrypted fields "
            "cannot work."
        )
    keyring = Keyring.generate()
    write_key_file(path, keyring)
    return keyring


def _decode(encoded: str, where: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(encoded.encode())
    except ValueError:
        raise StoreNotReady(f"The master key in {where} is not URL-safe base64.") from None
