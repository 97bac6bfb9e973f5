"""The master key and the keys derived from it.

The master key never enters the database: it comes from ``CLIENTELA_MASTER_KEY`` (URL-safe
base64 of 32 bytes) or from the key file (``master.key`` in the data directory, mode 0600,
created with a new store). The store keeps only a check value, so a wrong or lost key is a
clear error at start-up and never silently produces hashes that match nothing.

Keys for each use are derived with HKDF-SHA256 and a label, so one use's key says nothing
about another's: ``suppression`` keys the hashes of the suppression list.
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

__all__ = ["Keyring", "load_master_key"]

MASTER_KEY_ENV = "CLIENTELA_MASTER_KEY"
KEY_FILE_NAME = "master.key"
_KEY_BYTES = 32


class Keyring:
    def __init__(self, master: bytes) -> None:
        if len(master) != _KEY_BYTES:
            raise StoreNotReady(f"The master key must be {_KEY_BYTES} bytes, not {len(master)}.")
        self._master = master
        self._derived: dict[str, bytes] = {}

    @classmethod
    def generate(cls) -> Keyring:
        return cls(secrets.token_bytes(_KEY_BYTES))

    def derive(self, label: str) -> bytes:
        key = self._derived.get(label)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=_KEY_BYTES,
                salt=None,
                info=b"clientela/" + label.encode(),
            ).derive(self._master)
            self._derived[label] = key
        return key

    def keyed_hash(self, label: str, message: str) -> str:
        """HMAC-SHA256 under the key derived for ``label``, as hex."""
        return hmac.new(self.derive(label), message.encode(), hashlib.sha256).hexdigest()

    def seal(self, label: str, plaintext: bytes, context: bytes = b"") -> str:
        """AES-256-GCM under the key for ``label``; ``context`` is bound to it (AAD)."""
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.derive(label)).encrypt(nonce, plaintext, context)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, label: str, sealed: str, context: bytes = b"") -> bytes:
        raw = base64.urlsafe_b64decode(sealed.encode())
        try:
            return AESGCM(self.derive(label)).decrypt(raw[:12], raw[12:], context)
        except InvalidTag:
            raise StoreNotReady(f"A {label} secret cannot be decrypted with this key.") from None

    @property
    def check_value(self) -> str:
        """Identifies the key without revealing it (stored to detect a wrong key)."""
        return self.keyed_hash("check", "clientela master key")


def load_master_key(data_dir: Path, *, create: bool = False) -> Keyring:
    """The master key from the environment or the key file; a new file when ``create``."""
    encoded = os.environ.get(MASTER_KEY_ENV)
    if encoded:
        return Keyring(_decode(encoded, MASTER_KEY_ENV))
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return Keyring(_decode(path.read_text().strip(), str(path)))
    if not create:
        raise StoreNotReady(
            f"No master key: {path} is missing and {MASTER_KEY_ENV} is not set. Restore the key "
            "file from your key backup; without it suppression checks and encrypted fields "
            "cannot work."
        )
    keyring = Keyring.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.urlsafe_b64encode(keyring._master).decode() + "\n")
    return keyring


def _decode(encoded: str, where: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(encoded.encode())
    except ValueError:
        raise StoreNotReady(f"The master key in {where} is not URL-safe base64.") from None
