from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, bindparam, case, delete, func, or_, select, update

from clientela.security.envelope import PREFIX, SEALED_FIELDS
from clientela.storage import raw
from clientela.storage.bulk import insert_rows, update_rows
from clientela.storage.errors import StaleWrite
from clientela.storage.repositories._base import Repository
from clientela.storage.tables import customer_name_tokens, customers, events, transactions
from clientela.storage.types import UTCDateTime

_PREFIX_END = "\U0010ffff"
#: Every column with its starting value, so bulk rows may name only what they set.
_BLANK: dict[str, Any] = {column.name: None for column in customers.c}
_BLANK.update(
    status="active", version=1, event_count=0, order_count=0, total_revenue_minor=0, attributes={}
)


def _id(row: Mapping[str, Any]) -> str:
    return str(row["id"])


class CustomerRepository(Repository):
    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_rows(
            self.connection,
            customers,
            self.sealer.seal_rows(rows, [_id(row) for row in rows]),
            _BLANK,
        )

    def get(self, customer_id: str) -> dict[str, Any] | None:
        rows = raw.select_rows(self.connection, customers, '"id" = ?', (customer_id,))
        return self.sealer.open_rows(rows, fields=SEALED_FIELDS)[0] if rows else None

    def get_many(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        id_list = list(ids)
        if not id_list:
            return []
        by_id: dict[str, dict[str, Any]] = {}
        distinct = list(dict.fromkeys(id_list))
        for chunk, marks in raw.in_lists(distinct):
            rows = raw.select_rows(self.connection, customers, f'"id" IN ({marks})', chunk)
            for row in self.sealer.open_rows(rows, fields=SEALED_FIELDS):
                by_id[row["id"]] = row
        return [by_id[i] for i in id_list if i in by_id]

    def update(self, customer_id: str, values: Mapping[str, Any], *, expected_version: int) -> None:
        result = self.connection.execute(
            update(customers)
            .where(customers.c.id == customer_id, customers.c.version == expected_version)
            .values(**self._sealed(customer_id, values), version=expected_version + 1)
        )
        if result.rowcount != 1:
            raise StaleWrite(customer_id)

    def _sealed(self, customer_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.sealer.seal_rows([values], [customer_id])[0]

    def seal_stored(self, *, batch: int = 2_000) -> int:
        """Seal personal fields still stored plain (a store from before field encryption)."""
        plain = or_(
            *(
                customers.c[name].is_not(None)
                & (customers.c[name] != "")
                & (func.substr(customers.c[name], 1, 1) != PREFIX[0])
                for name in SEALED_FIELDS
            )
        )
        columns = [customers.c.id, *(customers.c[name] for name in SEALED_FIELDS)]
        sealed = 0
        while True:
            rows = self.connection.execute(select(*columns).where(plain).limit(batch)).mappings()
            found = [dict(row) for row in rows]
            if not found:
                return sealed
            changed = self.sealer.seal_rows(found, [_id(row) for row in found])
            self.connection.execute(
                update(customers)
                .where(customers.c.id == bindparam("key"))
                .values({name: bindparam(f"v_{name}") for name in SEALED_FIELDS}),
                [
                    {"key": row["id"], **{f"v_{name}": row[name] for name in SEALED_FIELDS}}
                    for row in changed
                ],
            )
            sealed += len(found)

    def set_quality(self, scores: Sequence[tuple[str, int, Mapping[str, Any]]]) -> None:
        """Store derived quality (not a change of the profile: no new version)."""
        if not scores:
            return
        update_rows(
            self.connection,
            customers,
            ("quality_score", "quality"),
            ("id",),
            [(score, dict(parts), key) for key, score, parts in scores],
        )

    def active_ids(self) -> list[str]:
        rows = self.connection.execute(
            select(customers.c.id).where(customers.c.status == "active").order_by(customers.c.id)
        )
        return [str(row[0]) for row in rows]

    def active_rows(self, *, batch: int = 5_000) -> Iterator[list[dict[str, Any]]]:
        """Every active profile, in batches (for dataset-wide reports)."""
        result = self.connection.execution_options(yield_per=batch).execute(
            select(customers).where(customers.c.status == "active").order_by(customers.c.id)
        )
        for partition in result.mappings().partitions(batch):
            yield self.sealer.open_rows(partition)

    def update_versions(self, changes: Sequence[tuple[str, Mapping[str, Any], int, int]]) -> None:
        """Many updates at once: (id, values, expected version, new version). Rows with the same
        columns go in one ``executemany``; any row changed meanwhile fails them all."""
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        sealed = self.sealer.seal_rows(
            [plain for _, plain, _, _ in changes], [customer_id for customer_id, *_ in changes]
        )
        for (customer_id, _, expected, new), values in zip(changes, sealed, strict=True):
            keys = tuple(sorted(values))
            groups.setdefault(keys, []).append(
                (new, *(values[k] for k in keys), customer_id, expected)
            )
        for keys, rows in groups.items():
            changed = update_rows(
                self.connection, customers, ("version", *keys), ("id", "version"), rows
            )
            if 0 <= changed < len(rows):
                raise StaleWrite(rows[0][-2])  # the id, before the expected version

    def restore(self, row: Mapping[str, Any]) -> None:
        """Write a profile back exactly as a snapshot recorded it, version included."""
        values = {key: value for key, value in self._sealed(row["id"], row).items() if key != "id"}
        self.connection.execute(update(customers).where(customers.c.id == row["id"]).values(values))

    @staticmethod
    def from_json(row: Mapping[str, Any]) -> dict[str, Any]:
        """A row recorded as JSON (dates as ISO text) with its column types back."""
        decoded: dict[str, Any] = {}
        for key, value in row.items():
            column = customers.c.get(key)
            if column is None:
                continue
            if isinstance(value, str) and isinstance(column.type, Date):
                decoded[key] = date.fromisoformat(value)
            elif isinstance(value, str) and isinstance(column.type, UTCDateTime):
                decoded[key] = datetime.fromisoformat(value)
            else:
                decoded[key] = value
        return decoded

    def delete(self, customer_id: str) -> None:
        self.connection.execute(delete(customers).where(customers.c.id == customer_id))

    def list_page(
        self,
        *,
        after_id: str | None,
        limit: int,
        status: str | None = None,
        country: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
    ) -> list[dict[str, Any]]:
        query = select(customers).order_by(customers.c.id).limit(limit)
        if after_id is not None:
            query = query.where(customers.c.id > after_id)
        if status is not None:
            query = query.where(customers.c.status == status)
        if country is not None:
            query = query.where(customers.c.country == country)
        if created_after is not None:
            query = query.where(customers.c.created_at >= created_after)
        if created_before is not None:
            query = query.where(customers.c.created_at < created_before)
        if updated_after is not None:
            query = query.where(customers.c.updated_at >= updated_after)
        return self.sealer.open_rows(self.connection.execute(query).mappings())

    def ids_by_name_tokens(self, prefixes: Sequence[str], *, limit: int) -> list[str]:
        """Active customers with, for every prefix, a name token starting with it."""
        query = select(customers.c.id).where(customers.c.status == "active")
        for prefix in prefixes:
            token_match = select(customer_name_tokens.c.customer_id).where(
                customer_name_tokens.c.token >= prefix,
                customer_name_tokens.c.token < prefix + _PREFIX_END,
            )
            query = query.where(customers.c.id.in_(token_match))
        query = query.order_by(customers.c.full_name, customers.c.id).limit(limit)
        return list(self.connection.execute(query).scalars())

    def replace_name_tokens(self, customer_id: str, tokens: Iterable[str]) -> None:
        self.connection.execute(
            delete(customer_name_tokens).where(customer_name_tokens.c.customer_id == customer_id)
        )
        self.insert_name_tokens([{"customer_id": customer_id, "token": t} for t in set(tokens)])

    def insert_name_tokens(self, rows: Sequence[Mapping[str, str]]) -> None:
        insert_rows(self.connection, customer_name_tokens, rows, {})

    def activity_counts(self, customer_id: str) -> dict[str, int]:
        """Events and orders of a person, in one round trip."""
        ((event_count, order_count),) = raw.fetch_all(
            self.connection,
            "SELECT (SELECT count(*) FROM events WHERE customer_id = ?),"
            " (SELECT count(*) FROM transactions WHERE customer_id = ?)",
            (customer_id, customer_id),
        )
        return {"events": int(event_count), "transactions": int(order_count)}

    def count(self, *, status: str | None = "active") -> int:
        query = select(func.count()).select_from(customers)
        if status is not None:
            query = query.where(customers.c.status == status)
        return int(self.connection.execute(query).scalar_one())

    def count_with_attribute(self, key: str) -> int:
        """Customers holding a value for custom attribute ``key`` (any status)."""
        condition: ColumnElement[Any]
        if self.dialect == "postgresql":
            condition = func.jsonb_exists(customers.c.attributes, key)
        else:
            condition = func.json_type(customers.c.attributes, "$." + key).is_not(None)
        query = select(func.count()).select_from(customers).where(condition)
        return int(self.connection.execute(query).scalar_one())

    def refresh_activity(self, customer_ids: Sequence[str] | None = None) -> None:
        """Recompute behavioural and transactional summaries from events and orders.

        ``None`` refreshes every customer (after a bulk load); otherwise only those given.
        """
        events_of = events.c.customer_id == customers.c.id
        completed = (transactions.c.customer_id == customers.c.id) & (
            transactions.c.status != "cancelled"
        )
        net = transactions.c.amount_minor - transactions.c.refunded_minor
        values = {
            "event_count": select(func.count()).where(events_of).scalar_subquery(),
            "first_seen_at": select(func.min(events.c.occurred_at))
            .where(events_of)
            .scalar_subquery(),
            "last_seen_at": select(func.max(events.c.occurred_at))
            .where(events_of)
            .scalar_subquery(),
            "order_count": select(func.count(case((transactions.c.status == "completed", 1))))
            .where(completed)
            .scalar_subquery(),
            "total_revenue_minor": select(func.coalesce(func.sum(net), 0))
            .where(completed)
            .scalar_subquery(),
            "first_order_at": select(func.min(transactions.c.occurred_at))
            .where(completed)
            .scalar_subquery(),
            "last_order_at": select(func.max(transactions.c.occurred_at))
            .where(completed)
            .scalar_subquery(),
        }
        statement = update(customers).values(**values)
        if customer_ids is None:
            self.connection.execute(statement)
            return
        id_list = list(customer_ids)
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            self.connection.execute(statement.where(customers.c.id.in_(chunk)))
