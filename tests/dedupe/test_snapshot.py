"""The comparison table kept between duplicate runs: reused for unchanged profiles, read again
for changed ones, the same table a full read gives, sealed, and gone when a person is erased."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from clientela.customers.service import update_customer
from clientela.dedupe import service, snapshot
from clientela.identity.merging import merge_profiles, unmerge
from clientela.privacy.erasure import erase_person
from clientela.settings import Settings
from clientela.storage.repositories.dedupe import MatchCandidateRepository
from clientela.storage.store import Store
from tests import factories

ACTOR = factories.actor()


def people(store: Store, settings: Settings, n: int = 6) -> list[dict[str, Any]]:
    return [
        factories.stored_customer(store, settings, address_line1=f"Rua das Flores {i}")
        for i in range(n)
    ]


def read(store: Store, settings: Settings) -> pa.Table:
    table, _ = service._read_profiles(store, kept_in=settings.data_dir)
    return table


def full_read(store: Store) -> pa.Table:
    table, _ = service._read_profiles(store)
    return table


class ReadAgain:
    """Records the profiles a run reads from the store by id (None: all of them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[list[str] | None] = []
        original = MatchCandidateRepository.profiles

        def profiles(repository: Any, **options: Any) -> Any:
            ids = options.get("ids")
            self.asked.append(None if ids is None else sorted(ids))
            return original(repository, **options)

        monkeypatch.setattr(MatchCandidateRepository, "profiles", profiles)


def test_a_second_read_reuses_the_kept_rows_and_reads_only_the_changed_profile(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = people(store, settings)
    first = read(store, settings)
    assert snapshot.path_in(settings.data_dir).exists()
    with store.unit_of_work() as uow:
        update_customer(uow, stored[2]["id"], {"city": "Recife"}, actor=ACTOR, settings=settings)
        uow.commit()
    spy = ReadAgain(monkeypatch)
    second = read(store, settings)
    assert spy.asked == [[stored[2]["id"]]]
    assert second.equals(full_read(store))
    assert second.num_rows == first.num_rows
    cities = dict(zip(second["unique_id"].to_pylist(), second["city"].to_pylist(), strict=True))
    assert cities[stored[2]["id"]] == "recife"


def test_nothing_changed_reads_nothing_and_a_new_profile_is_read_alone(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    people(store, settings, 3)
    read(store, settings)
    spy = ReadAgain(monkeypatch)
    read(store, settings)
    assert spy.asked == []  # no profile read: the marks say nothing changed
    newcomer = factories.stored_customer(store, settings)
    table = read(store, settings)
    assert spy.asked == [[newcomer["id"]]]
    assert table.equals(full_read(store))


def test_merge_unmerge_and_a_later_edit_leave_the_same_table_as_a_full_read(
    store: Store, settings: Settings
) -> None:
    # the survivor lacks a birth date the merged profile has: the golden record takes it
    survivor = factories.stored_customer(store, settings, birth_date=None)
    merged = factories.stored_customer(store, settings, birth_date="1985-03-02")
    with store.unit_of_work() as uow:
        merge_id = merge_profiles(uow, survivor["id"], merged["id"], reason="manual", actor=ACTOR)
        uow.commit()
    golden = read(store, settings)
    assert golden.equals(full_read(store))
    assert golden["birth_date"].to_pylist() == ["1985-03-02"]
    with store.unit_of_work() as uow:
        unmerge(uow, merge_id, actor=ACTOR)
        uow.commit()
    # both profiles come back as they were, the survivor with its version before the merge;
    # an edit then gives it the version number the golden record had, with other content
    with store.unit_of_work() as uow:
        update_customer(uow, survivor["id"], {"city": "Recife"}, actor=ACTOR, settings=settings)
        uow.commit()
    after = read(store, settings)
    assert after.equals(full_read(store))
    assert after.num_rows == 2
    assert sorted(after["birth_date"].to_pylist(), key=str) == ["1985-03-02", None]


def test_the_kept_table_is_sealed_and_erasure_removes_it(store: Store, settings: Settings) -> None:
    stored = people(store, settings, 3)
    read(store, settings)
    path = snapshot.path_in(settings.data_dir)
    data = path.read_bytes()
    assert b"rua das flores" not in data.lower() and b"souza" not in data.lower()
    with store.unit_of_work() as uow:
        erase_person(uow, stored[0]["id"], actor=ACTOR, settings=settings, legal_basis="test")
        uow.commit()
    assert not path.exists()
    table = read(store, settings)
    assert stored[0]["id"] not in table["unique_id"].to_pylist()


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "another store"])
def test_a_kept_table_that_does_not_open_is_ignored_and_replaced(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    people(store, settings, 3)
    read(store, settings)
    path = snapshot.path_in(settings.data_dir)
    data = bytearray(path.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    elif damage == "truncated":
        path.write_bytes(bytes(data[:20]))
    else:
        monkeypatch.setattr(store, "url", store.url + "?other")
    spy = ReadAgain(monkeypatch)
    table = read(store, settings)
    assert spy.asked == [None]  # every profile read again
    assert table.equals(full_read(store))
    assert snapshot.load(path, store.keyring(), store_check=store.url) is not None


def test_runs_keep_no_table_when_told_not_to(store: Store, settings: Settings) -> None:
    people(store, settings, 3)
    quiet = settings.model_copy(update={"dedupe_keep_profiles": False})
    service._read_profiles(store, kept_in=service._kept_in(quiet))
    assert not snapshot.path_in(Path(settings.data_dir)).exists()


def test_two_runs_keeping_their_tables_at_once_do_not_write_into_one_file(
    store: Store, settings: Settings
) -> None:
    """A server runs duplicate detection in threads of one process: each save writes its own
    temporary file, never one named after the process that another save is writing."""
    people(store, settings, 3)
    table = read(store, settings)
    path = snapshot.path_in(settings.data_dir)
    marked = snapshot.load(path, store.keyring(), store_check=store.url)
    assert marked is not None and marked.num_rows == table.num_rows
    other_writer = path.with_name(f".{path.name}.{os.getpid()}.partial")
    other_writer.write_bytes(b"another run, half-way")
    snapshot.save(path, store.keyring(), marked, store_check=store.url)
    assert other_writer.read_bytes() == b"another run, half-way"
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".partial")] == [
        other_writer.name
    ]
    assert snapshot.load(path, store.keyring(), store_check=store.url) is not None
