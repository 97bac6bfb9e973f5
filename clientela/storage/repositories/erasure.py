"""Erasure at the storage level: every row that names a person, in every table.

The service (``privacy/erasure.py``) decides what to erase and records why; this module knows
where personal values live. A new table holding personal data must be handled here; the
erasure proof test fails otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, tuple_, update

from clientela.storage.repositories._base import Repository
from clientela.storage.tables import (
    customer_name_tokens,
    customer_scores,
    customers,
    events,
    field_provenance,
    identities,
    identity_flags,
    legal_holds,
    match_candidates,
    merges,
    outbox,
    processing_restrictions,
    transaction_aggregates,
    transactions,
)

#: what an anonymised profile keeps: no value in it says who the person is
SUMMARY_COLUMNS = (
    "event_count",
    "order_count",
    "total_revenue_minor",
    "first_seen_at",
    "last_seen_at",
    "first_order_at",
    "last_order_at",
    "preferred_channel",
    "preferred_payment_method",
)
_BOOKKEEPING = ("id", "status", "merged_into", "created_at", "updated_at", "version")
_ZERO_WHEN_DELETED = ("event_count", "order_count", "total_revenue_minor")
_CHUNK = 500


class ErasureRepository(Repository):
    def person_ids(self, root_id: str) -> list[str]:
        """The profile and every profile merged into it, at any depth."""
        found, frontier = [root_id], [root_id]
        while frontier:
            rows = self.connection.execute(
                select(customers.c.id).where(customers.c.merged_into.in_(frontier))
            ).all()
            frontier = [str(row[0]) for row in rows if row[0] not in found]
            found.extend(frontier)
        return found

    def identity_keys(self, customer_ids: Sequence[str]) -> list[tuple[str, str]]:
        rows = self.connection.execute(
            select(identities.c.kind, identities.c.value, identities.c.sealed).where(
                identities.c.customer_id.in_(list(customer_ids))
            )
        ).all()
        self.sealer.prepare_opening(sealed for _, _, sealed in rows)
        keys = []
        for kind, value, sealed in rows:
            plain = value if sealed is None else self.sealer.open_field(kind, sealed)
            if plain is not None:
                keys.append((str(kind), str(plain)))
        return keys

    def delete_events(
        self, customer_ids: Sequence[str], anonymous_ids: Sequence[str], user_ids: Sequence[str]
    ) -> int:
        """The person's events, and unattributed ones carrying their anonymous or user id."""
        conditions: list[ColumnElement[bool]] = [events.c.customer_id.in_(list(customer_ids))]
        if anonymous_ids:
            conditions.append(
                events.c.customer_id.is_(None) & events.c.anonymous_id.in_(list(anonymous_ids))
            )
        if user_ids:
            conditions.append(events.c.customer_id.is_(None) & events.c.user_id.in_(list(user_ids)))
        result = self.connection.execute(delete(events).where(or_(*conditions)))
        return int(result.rowcount or 0)

    def fold_transactions(
        self, customer_ids: Sequence[str], *, before: datetime | None = None
    ) -> int:
        """Add the person's orders (those before ``before``, if given) to the anonymous daily
        aggregates, then delete them."""
        where: list[ColumnElement[bool]] = [transactions.c.customer_id.in_(list(customer_ids))]
        if before is not None:
            where.append(transactions.c.occurred_at < before)
        rows = self.connection.execute(
            select(
                transactions.c.occurred_at,
                transactions.c.currency,
                transactions.c.source_id,
                transactions.c.channel,
                transactions.c.payment_method,
                transactions.c.amount_minor,
                transactions.c.refunded_minor,
            ).where(*where)
        ).all()
        totals: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
        for occurred_at, currency, source_id, channel, method, amount, refunded in rows:
            key = (occurred_at.date(), currency, source_id, channel or "", method or "")
            totals[key][0] += 1
            totals[key][1] += int(amount)
            totals[key][2] += int(refunded)
        for key, (orders, amount, refunded) in totals.items():
            self._add_to_aggregate(key, orders, amount, refunded)
        self.connection.execute(delete(transactions).where(*where))
        return len(rows)

    def delete_transactions(self, customer_ids: Sequence[str]) -> int:
        result = self.connection.execute(
            delete(transactions).where(transactions.c.customer_id.in_(list(customer_ids)))
        )
        return int(result.rowcount or 0)

    def _add_to_aggregate(
        self, key: tuple[Any, ...], orders: int, amount: int, refunded: int
    ) -> None:
        table = transaction_aggregates
        where = (
            (table.c.day == key[0])
            & (table.c.currency == key[1])
            & (table.c.source_id == key[2])
            & (table.c.channel == key[3])
            & (table.c.payment_method == key[4])
        )
        changed = self.connection.execute(
            update(table)
            .where(where)
            .values(
                orders=table.c.orders + orders,
                amount_minor=table.c.amount_minor + amount,
                refunded_minor=table.c.refunded_minor + refunded,
            )
        )
        if not changed.rowcount:
            self.connection.execute(
                table.insert(),
                {
                    "day": key[0],
                    "currency": key[1],
                    "source_id": key[2],
                    "channel": key[3],
                    "payment_method": key[4],
                    "orders": orders,
                    "amount_minor": amount,
                    "refunded_minor": refunded,
                },
            )

    def delete_linked(self, customer_ids: Sequence[str]) -> dict[str, int]:
        """Rows that exist only to describe the person: identities, provenance, search tokens,
        merge snapshots, match pairs, messages, restrictions, released holds and data keys."""
        ids = list(customer_ids)
        counts = {}
        for name, statement in (
            (
                "merges",
                delete(merges).where(
                    or_(merges.c.survivor_id.in_(ids), merges.c.merged_id.in_(ids))
                ),
            ),
            ("identities", delete(identities).where(identities.c.customer_id.in_(ids))),
            (
                "field_provenance",
                delete(field_provenance).where(field_provenance.c.customer_id.in_(ids)),
            ),
            (
                "customer_name_tokens",
                delete(customer_name_tokens).where(customer_name_tokens.c.customer_id.in_(ids)),
            ),
            (
                "match_candidates",
                delete(match_candidates).where(
                    or_(match_candidates.c.left_id.in_(ids), match_candidates.c.right_id.in_(ids))
                ),
            ),
            ("outbox", delete(outbox).where(outbox.c.customer_id.in_(ids))),
            (
                "processing_restrictions",
                delete(processing_restrictions).where(
                    processing_restrictions.c.customer_id.in_(ids)
                ),
            ),
            ("legal_holds", delete(legal_holds).where(legal_holds.c.customer_id.in_(ids))),
            (
                "customer_scores",
                delete(customer_scores).where(customer_scores.c.customer_id.in_(ids)),
            ),
        ):
            counts[name] = int(self.connection.execute(statement).rowcount or 0)
        # Crypto-shredding: copies of the sealed fields anywhere (old backups) stay unreadable.
        counts["customer_keys"] = self.sealer.shred(ids)
        return counts

    def delete_flags(self, keys: Sequence[tuple[str, str]]) -> int:
        """Identity flags naming the person's identifiers (a shared e-mail is still theirs)."""
        deleted = 0
        stored = [(kind, self.sealer.blind(kind, value)) for kind, value in keys]
        for start in range(0, len(stored), _CHUNK):
            chunk = stored[start : start + _CHUNK]
            result = self.connection.execute(
                delete(identity_flags).where(
                    tuple_(identity_flags.c.kind, identity_flags.c.value).in_(chunk)
                )
            )
            deleted += int(result.rowcount or 0)
        return deleted

    def blank_profiles(
        self, customer_ids: Sequence[str], *, keep_summaries: bool, when: datetime
    ) -> list[str]:
        """Every personal column to NULL and the status to erased; the row stays as a
        tombstone (so the id answers "erased", not "unknown"). Returns the fields blanked."""
        keep = set(_BOOKKEEPING) | (set(SUMMARY_COLUMNS) if keep_summaries else set())
        values: dict[str, Any] = {
            column.name: None for column in customers.columns if column.name not in keep
        }
        values["attributes"] = {}
        if not keep_summaries:
            values.update(dict.fromkeys(_ZERO_WHEN_DELETED, 0))
        values.update(status="erased", merged_into=None, updated_at=when)
        ids = list(customer_ids)
        # Merged-away rows point at the survivor: unlink them all first.
        self.connection.execute(
            update(customers).where(customers.c.id.in_(ids)).values(merged_into=None)
        )
        self.connection.execute(
            update(customers)
            .where(customers.c.id.in_(ids))
            .values(version=customers.c.version + 1, **values)
        )
        return sorted(
            name for name in values if name not in ("status", "updated_at", "merged_into")
        )
