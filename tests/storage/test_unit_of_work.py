"""A unit of work commits only when told to; everything else is rolled back."""

from __future__ import annotations

import pytest

from clientela.domain.actor import utcnow
from clientela.storage.store import Store


def _row(name: str) -> dict[str, object]:
    return {
        "id": f"00000000-0000-7000-8000-{len(name):012d}",
        "name": name,
        "kind": "crm",
        "trust_rank": 5,
        "description": "",
        "created_at": utcnow(),
    }


def test_rolled_back_unless_committed(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.sources.add(_row("crm-one"))
    with store.unit_of_work() as uow:
        assert uow.sources.get_by_name("crm-one") is None


def test_rolled_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.sources.add(_row("crm-two"))
        raise RuntimeError("boom")
    with store.unit_of_work() as uow:
        assert uow.sources.get_by_name("crm-two") is None


def test_committed_work_stays(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.sources.add(_row("crm-three"))
        uow.commit()
    with store.unit_of_work(write=False) as uow:
        assert uow.sources.get_by_name("crm-three") is not None
