"""Master-key rotation: every data key and the root key re-wrapped under a new master.

No customer value is rewritten: sealed fields are encrypted with the customers' data keys,
which do not change. The order makes a crash safe: the new key is written beside the old one
(``master.key.new``) before the store changes, the store changes in one transaction, and only
then does the new file replace the old. A crash in between leaves a store that opens with the
``.new`` file, and the start-up error says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.security.keyring import KEY_FILE_NAME, write_key_file
from clientela.storage.store import MASTER_CHECK_META, ROOT_KEY_META, Store

__all__ = ["Rotation", "rotate_master_key"]


@dataclass(frozen=True, slots=True)
class Rotation:
    data_keys: int
    key_file: Path


def rotate_master_key(store: Store, data_dir: Path, *, actor: Actor) -> Rotation:
    old = store.keyring()
    new = old.rotated()
    target = data_dir / KEY_FILE_NAME
    pending = target.with_name(KEY_FILE_NAME + ".new")
    write_key_file(pending, new)
    with store.unit_of_work() as uow:
        assert uow.sealer is not None
        count = uow.sealer.rewrap(old, new)
        now = utcnow()
        uow.store_meta.set(ROOT_KEY_META, new.wrapped_root(), now)
        uow.store_meta.set(MASTER_CHECK_META, new.master_check, now)
        audit.record(uow, actor, "keys.rotate", [None], ["master_key"])
        uow.commit()
    pending.replace(target)
    return Rotation(count, target)
