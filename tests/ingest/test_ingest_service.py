"""Ingest and deterministic stitching, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import itertools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from clientela.demo.catalogue import PURPOSES
from clientela.domain.actor import Actor
from clientela.domain.ids import new_id
from clientela.ingest.service import IngestResult, ingest_messages
from clientela.settings import Settings
from clientela.sources.keys import authenticate_write_key, create_tracking_source
from clientela.storage.store import Store
from tests import factories
from tests.conftest import _migrate
from tests.factories import actor

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
_ids = itertools.count()


def msg(kind: str, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "messageId": f"m{next(_ids)}",
        "timestamp": (NOW - timedelta(minutes=100 - minutes)).isoformat(),
        **fields,
    }


def source_of(store: Store) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        key = create_tracking_source(uow, f"app{next(_ids)}", actor=actor()).write_key
        row = authenticate_write_key(uow, key)
        uow.commit()
    return row


def ingest(store: Store, source: dict[str, Any], messages: list[Any], **kw: Any) -> IngestResult:
    with store.unit_of_work() as uow:
        result = ingest_messages(
            uow,
            source,
            messages,
            actor=Actor.system("test"),
            settings=Settings(),
            received_at=NOW,
            **kw,
        )
        uow.commit()
    return result


def owner(store: Store, kind: str, value: str) -> str | None:
    with store.unit_of_work(write=False) as uow:
        return uow.identities.owner_of(kind, value)


def test_anonymous_browsing_then_identify_keeps_the_history(store: Store) -> None:
    source = source_of(store)
    ingest(
        store,
        source,
        [
            msg("page", 1, anonymousId="a1", name="Home"),
            msg("track", 2, anonymousId="a1", event="Product Viewed"),
        ],
    )
    before = owner(store, "anonymous_id", "a1")
    result = ingest(
        store,
        source,
        [
            msg(
                "identify",
                3,
                anonymousId="a1",
                userId="u1",
                traits={"email": "Bia@Example.com", "name": "bia lima"},
            )
        ],
    )
    assert result.accepted == 1
    assert owner(store, "user_id", "u1") == owner(store, "email", "bia@example.com") == before
    with store.unit_of_work(write=False) as uow:
        profile = uow.customers.get(before or "")
        counts = uow.customers.activity_counts(before or "")
    assert profile is not None and profile["full_name"] == "Bia Lima"
    assert counts["events"] == 3


def test_identify_with_two_known_profiles_merges_them_once(store: Store) -> None:
    source = source_of(store)
    ingest(
        store,
        source,
        [
            msg("track", 1, anonymousId="a2", event="Signed Up"),
            msg("identify", 2, userId="u2", traits={"email": "c@example.org"}),
        ],
    )
    first, second = owner(store, "anonymous_id", "a2"), owner(store, "user_id", "u2")
    assert first != second
    ingest(store, source, [msg("identify", 3, anonymousId="a2", userId="u2")])
    survivor = owner(store, "anonymous_id", "a2")
    assert survivor == owner(store, "user_id", "u2") == owner(store, "email", "c@example.org")
    with store.unit_of_work(write=False) as uow:
        merges = uow.merges.for_customer(survivor or "")
        loser = uow.customers.get(first if survivor == second else second or "")
    assert len(merges) == 1 and merges[0]["snapshot"]["moved"]["events"]
    assert loser is not None and loser["status"] == "merged"
    ingest(store, source, [msg("identify", 4, anonymousId="a2", userId="u2")])
    with store.unit_of_work(write=False) as uow:
        assert len(uow.merges.for_customer(survivor or "")) == 1


def test_alias_joins_two_accounts_but_a_shared_email_does_not(store: Store) -> None:
    source = source_of(store)
    ingest(
        store,
        source,
        [
            msg("identify", 1, userId="u3", traits={"email": "x3@example.org"}),
            msg("identify", 2, userId="u4"),
        ],
    )
    result = ingest(
        store, source, [msg("identify", 3, userId="u4", traits={"email": "x3@example.org"})]
    )
    assert owner(store, "user_id", "u3") != owner(store, "user_id", "u4")
    assert any(field == "userId" for _, field, _ in result.warnings)
    ingest(store, source, [msg("alias", 4, userId="u4", previousId="u3")])
    assert owner(store, "user_id", "u3") == owner(store, "user_id", "u4")


def test_blocklisted_values_never_link(store: Store) -> None:
    source = source_of(store)
    ingest(
        store,
        source,
        [
            msg("identify", 1, userId="u5", traits={"email": "test@test.com"}),
            msg("identify", 2, userId="u6", traits={"email": "test@test.com"}),
        ],
    )
    assert owner(store, "user_id", "u5") != owner(store, "user_id", "u6")
    assert owner(store, "email", "test@test.com") is None


def test_invalid_traits_are_kept_on_the_event_and_reported(store: Store) -> None:
    source = source_of(store)
    result = ingest(
        store,
        source,
        [msg("identify", 1, userId="u7", traits={"email": "broken@", "firstName": "Rui"})],
    )
    assert result.accepted == 1
    assert [(field, index) for index, field, _ in result.warnings] == [("traits.email", 0)]
    customer = owner(store, "user_id", "u7")
    with store.unit_of_work(write=False) as uow:
        profile = uow.customers.get(customer or "")
    assert profile is not None and profile["given_name"] == "Rui" and profile["email"] is None


def test_bad_messages_are_reported_by_index_and_good_ones_kept(store: Store) -> None:
    source = source_of(store)
    result = ingest(
        store,
        source,
        [
            msg("track", 1, anonymousId="a8", event="Ok"),
            {"type": "track", "event": "No id"},
            msg("track", 2, event="No person"),
            "not an object",
            msg("track", 3, anonymousId="a8", event="Later", timestamp="yesterday"),
        ],
    )
    assert result.accepted == 1
    assert [(i, code) for i, code, _ in result.rejected] == [
        (1, "missing_message_id"),
        (2, "missing_id"),
        (3, "invalid_message"),
        (4, "invalid_timestamp"),
    ]


def test_orders_refunds_and_consent(store: Store) -> None:
    source = source_of(store)
    with store.unit_of_work() as uow:
        for purpose in PURPOSES:
            uow.purposes.add(
                {
                    "id": new_id(),
                    "key": purpose["key"],
                    "name": purpose["name"],
                    "description": "",
                    "lawful_basis": purpose["lawful_basis"],
                    "data_categories": [],
                    "recipients": [],
                    "international_transfers": [],
                    "retention_days": None,
                    "security_measures": "",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        uow.commit()
    ingest(
        store,
        source,
        [
            msg(
                "track",
                1,
                userId="u9",
                event="Order Completed",
                properties={"order_id": "O-9", "revenue": "199.90", "currency": "brl"},
                context={
                    "consent": {"categoryPreferences": {"marketing_email": True, "unknown": True}}
                },
            ),
            msg(
                "track",
                2,
                userId="u9",
                event="Order Refunded",
                properties={"order_id": "O-9", "total": 50},
            ),
        ],
        gpc=True,
    )
    customer = owner(store, "user_id", "u9") or ""
    with store.unit_of_work(write=False) as uow:
        order = uow.transactions.get_by_order(str(source["id"]), "O-9")
        profile = uow.customers.get(customer)
        consents = uow.consents.for_customer(customer)
    assert order is not None
    assert (order["amount_minor"], order["refunded_minor"], order["status"], order["currency"]) == (
        19990,
        5000,
        "partially_refunded",
        "BRL",
    )
    assert profile is not None and profile["total_revenue_minor"] == 14990
    assert sorted(c["action"] for c in consents) == ["deny", "deny", "grant"]  # GPC per message


def test_clock_skew_is_corrected_from_sent_at(store: Store) -> None:
    source = source_of(store)
    skewed = msg(
        "track",
        0,
        anonymousId="a10",
        event="Skewed",
        timestamp="2026-11-23T13:00:00+00:00",
        sentAt="2026-11-23T13:05:00+00:00",
    )
    ingest(store, source, [skewed])
    with store.unit_of_work(write=False) as uow:
        page = uow.timeline.page(owner(store, "anonymous_id", "a10") or "", before=None, limit=5)
    assert page[0]["occurred_at"] == datetime(2026, 11, 23, 11, 55, tzinfo=UTC)


messages_for_order_test = [
    msg("page", 1, anonymousId="z1", name="Home"),
    msg("identify", 2, anonymousId="z1", userId="zu", traits={"firstName": "Ana"}),
    msg("identify", 3, userId="zu", traits={"email": "zu@example.org", "firstName": "Anna"}),
    msg(
        "identify",
        4,
        anonymousId="z2",
        traits={"email": "zu@example.org", "address": {"city": "Recife"}},
    ),
    msg("track", 5, anonymousId="z2", event="Signed Up"),
    msg("identify", 6, userId="zv", traits={"email": "zv@example.org", "firstName": "Vera"}),
]


def _final_state(store: Store) -> list[tuple[Any, ...]]:
    with store.unit_of_work(write=False) as uow:
        state = []
        for customer_id in {
            uow.identities.owner_of(k, v)
            for k, v in [("user_id", "zu"), ("user_id", "zv"), ("anonymous_id", "z2")]
        }:
            row = uow.customers.get(customer_id or "")
            assert row is not None
            keys = sorted((i["kind"], i["value"]) for i in uow.identities.for_customer(row["id"]))
            state.append(
                (
                    row["given_name"],
                    row["email"],
                    row["city"],
                    tuple(keys),
                    uow.customers.activity_counts(row["id"])["events"],
                )
            )
    return sorted(state)


def _run_in_fresh_store(order: list[int], split: int) -> list[tuple[Any, ...]]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+pysqlite:///{Path(folder) / 'c.db'}"
        _migrate(url)
        store = Store(url, keyring=factories.TEST_KEYRING)
        try:
            source = source_of(store)
            shuffled = [messages_for_order_test[i] for i in order]
            ingest(store, source, shuffled[:split])
            ingest(store, source, shuffled[split:])
            return _final_state(store)
        finally:
            store.dispose()


@functools.cache
def _reference() -> list[tuple[Any, ...]]:
    everything = list(range(len(messages_for_order_test)))
    return _run_in_fresh_store(everything, len(everything))


def test_reference_state_is_what_the_messages_say() -> None:
    (zu, zv) = _reference()
    assert zu[:3] == ("Anna", "zu@example.org", "Recife")  # latest name by event time
    assert zu[4] == 5 and zv[4] == 1


@hsettings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.permutations(range(len(messages_for_order_test))),
    split=st.integers(min_value=0, max_value=len(messages_for_order_test)),
)
def test_any_arrival_order_gives_the_same_profiles(order: list[int], split: int) -> None:
    assert _run_in_fresh_store(list(order), split) == _reference()


def test_a_value_shared_by_many_accounts_is_flagged_and_blocked(store: Store) -> None:
    source = source_of(store)
    ingest(
        store, source, [msg("identify", 1, userId="fam-0", traits={"email": "casa@example.org"})]
    )
    for n in range(1, 6):
        ingest(
            store,
            source,
            [msg("identify", 1 + n, userId=f"fam-{n}", traits={"email": "casa@example.org"})],
        )
    with store.unit_of_work(write=False) as uow:
        flags = uow.identities.flags()
        assert uow.sealer is not None
        shared = uow.sealer.blind("email", "casa@example.org")  # flags name it by blind index
    assert [(f["kind"], f["value"], f["blocked"]) for f in flags] == [("email", shared, True)]
    assert flags[0]["conflicts"] == 4  # blocked after the 4th; the 5th no longer counts
    # Blocked: an anonymous visitor typing that e-mail is not attached to the first family member.
    ingest(
        store,
        source,
        [msg("identify", 9, anonymousId="guest", traits={"email": "casa@example.org"})],
    )
    assert owner(store, "anonymous_id", "guest") != owner(store, "user_id", "fam-0")


def test_a_large_batch_of_new_people_is_created_in_one_go(store: Store) -> None:
    source = source_of(store)
    messages = [msg("track", 1, anonymousId=f"bulk-{n}", event="Viewed") for n in range(1500)]
    messages.append(msg("identify", 2, anonymousId="bulk-7", userId="bulk-user"))
    result = ingest(store, source, messages)
    assert result.accepted == 1501
    assert owner(store, "user_id", "bulk-user") == owner(store, "anonymous_id", "bulk-7")
    with store.unit_of_work(write=False) as uow:
        assert uow.customers.count() == 1500


def _quality(store: Store, customer_id: str) -> tuple[int | None, dict[str, Any] | None]:
    with store.unit_of_work(write=False) as uow:
        row = uow.customers.get(customer_id)
        assert row is not None
        return row["quality_score"], row["quality"]


def test_people_first_seen_by_an_event_are_scored_and_identify_rescores_them(
    store: Store,
) -> None:
    source = source_of(store)
    ingest(store, source, [msg("track", anonymousId="q-anon", event="Product Viewed")])
    customer_id = owner(store, "anonymous_id", "q-anon")
    assert customer_id is not None
    empty_score, parts = _quality(store, customer_id)
    assert empty_score is not None and parts is not None
    assert parts["parts"]["completeness"] == 0
    ingest(
        store,
        source,
        [
            msg(
                "identify",
                minutes=1,
                anonymousId="q-anon",
                userId="q-user",
                traits={"email": "q@example.com", "firstName": "Quinn", "lastName": "Alves"},
            )
        ],
    )
    score, parts = _quality(store, customer_id)
    assert score is not None and score > empty_score
    assert parts is not None and parts["parts"]["completeness"] > 0


def test_events_that_change_no_profile_leave_quality_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quality is about profile fields: a page view of a known person changes none, so its
    profile is not read back and assessed again on every event."""
    from clientela.ingest import service

    source = source_of(store)
    ingest(store, source, [msg("identify", userId="q-2", traits={"email": "q2@example.com"})])
    assessed: list[set[str]] = []
    real = service.refresh_quality

    def spy(uow: Any, customer_ids: Any, **kw: Any) -> None:
        assessed.append(set(customer_ids))
        real(uow, customer_ids, **kw)

    monkeypatch.setattr(service, "refresh_quality", spy)
    ingest(store, source, [msg("page", minutes=5, userId="q-2", name="Home")])
    assert assessed in ([], [set()])
    ingest(store, source, [msg("identify", minutes=6, userId="q-2", traits={"firstName": "Q"})])
    assert assessed[-1] == {owner(store, "user_id", "q-2")}
