"""The purposes register, the consent ledger (append-only), data-subject requests, the
suppression list, restrictions, legal holds, retention, breach reports and the outbox."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, or_, select, update

from clientela.storage.repositories._base import Repository, as_dict, translate_integrity_errors
from clientela.storage.tables import (
    breach_reports,
    consent_events,
    customers,
    destruction_records,
    events,
    legal_holds,
    outbox,
    privacy_request_steps,
    privacy_requests,
    processing_restrictions,
    purposes,
    retention_policies,
    retention_runs,
    store_meta,
    suppressions,
    transactions,
)

_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class PurposeRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(purposes), dict(row))

    def list(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(select(purposes).order_by(purposes.c.key))
        return [dict(row) for row in rows.mappings()]

    def get_by_key(self, key: str) -> dict[str, Any] | None:
        row = self.connection.execute(select(purposes).where(purposes.c.key == key))
        return as_dict(row.mappings().first())

    def update(self, key: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(update(purposes).where(purposes.c.key == key).values(**values))

    def delete(self, key: str) -> None:
        self.connection.execute(delete(purposes).where(purposes.c.key == key))

    def is_used(self, purpose_id: str) -> bool:
        used = self.connection.execute(
            select(consent_events.c.id).where(consent_events.c.purpose_id == purpose_id).limit(1)
        )
        return used.first() is not None

    def ids_by_key(self) -> dict[str, str]:
        rows = self.connection.execute(select(purposes.c.key, purposes.c.id))
        return {str(key): str(identifier) for key, identifier in rows.all()}


class ConsentRepository(Repository):
    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.connection.execute(insert(consent_events), list(rows))

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        """The person's ledger, oldest first, each event with its purpose key."""
        return self.for_customers([customer_id])

    def for_customers(
        self, customer_ids: Sequence[str], *, purpose_id: str | None = None
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(customer_ids)):
            query = (
                select(consent_events, purposes.c.key.label("purpose"))
                .join(purposes, purposes.c.id == consent_events.c.purpose_id)
                .where(consent_events.c.customer_id.in_(chunk))
                .order_by(consent_events.c.occurred_at, consent_events.c.recorded_at)
            )
            if purpose_id is not None:
                query = query.where(consent_events.c.purpose_id == purpose_id)
            found.extend(dict(row) for row in self.connection.execute(query).mappings())
        return found

    def search(
        self,
        *,
        purpose_id: str | None = None,
        action: str | None = None,
        customer_ids: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Ledger events, newest first, each with its purpose key; ``before`` is the
        (occurred_at, id) of the last event of the previous page (keyset pagination)."""
        query = select(consent_events, purposes.c.key.label("purpose")).join(
            purposes, purposes.c.id == consent_events.c.purpose_id
        )
        if purpose_id is not None:
            query = query.where(consent_events.c.purpose_id == purpose_id)
        if action is not None:
            query = query.where(consent_events.c.action == action)
        if customer_ids is not None:
            query = query.where(consent_events.c.customer_id.in_(list(customer_ids)[:_CHUNK]))
        if since is not None:
            query = query.where(consent_events.c.occurred_at >= since)
        if until is not None:
            query = query.where(consent_events.c.occurred_at < until)
        if before is not None:
            moment, identifier = before
            query = query.where(
                or_(
                    consent_events.c.occurred_at < moment,
                    (consent_events.c.occurred_at == moment) & (consent_events.c.id < identifier),
                )
            )
        query = query.order_by(consent_events.c.occurred_at.desc(), consent_events.c.id.desc())
        rows = self.connection.execute(query.limit(limit)).mappings()
        return [dict(row) for row in rows]

    def scrub(self, customer_ids: Sequence[str], keep: Sequence[str]) -> int:
        """Keep the events as evidence without the person: unlink them and drop every evidence
        key but ``keep`` (notice version and hash, mechanism, form)."""
        scrubbed = 0
        for chunk in _chunks(list(customer_ids)):
            rows = self.connection.execute(
                select(consent_events.c.id, consent_events.c.evidence).where(
                    consent_events.c.customer_id.in_(chunk)
                )
            ).all()
            for identifier, evidence in rows:
                kept = {k: v for k, v in (evidence or {}).items() if k in keep}
                self.connection.execute(
                    update(consent_events)
                    .where(consent_events.c.id == identifier)
                    .values(customer_id=None, evidence=kept)
                )
            scrubbed += len(rows)
        return scrubbed


class PrivacyRequestRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(privacy_requests), dict(row))

    def get(self, request_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(privacy_requests).where(privacy_requests.c.id == request_id)
        )
        return as_dict(row.mappings().first())

    def update(self, request_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(privacy_requests).where(privacy_requests.c.id == request_id).values(**values)
        )

    def add_step(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(privacy_request_steps), dict(row))

    def steps(self, request_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(privacy_request_steps)
            .where(privacy_request_steps.c.request_id == request_id)
            .order_by(privacy_request_steps.c.occurred_at, privacy_request_steps.c.id)
        )
        return [dict(row) for row in rows.mappings()]

    def find(
        self, *, statuses: Sequence[str] | None = None, due_before: date | None = None
    ) -> list[dict[str, Any]]:
        query = select(privacy_requests).order_by(
            privacy_requests.c.respond_by, privacy_requests.c.received_at
        )
        if statuses:
            query = query.where(privacy_requests.c.status.in_(list(statuses)))
        if due_before is not None:
            # An extended request is due at its extended date.
            due = case(
                (
                    privacy_requests.c.extended_at.is_not(None),
                    privacy_requests.c.extended_respond_by,
                ),
                else_=privacy_requests.c.respond_by,
            )
            query = query.where(due < due_before)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def of_subject(self, subject_ids: Sequence[str]) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(privacy_requests)
            .where(privacy_requests.c.subject_id.in_(list(subject_ids)))
            .order_by(privacy_requests.c.received_at)
        )
        return [dict(row) for row in rows.mappings()]

    def scrub_details(self, subject_ids: Sequence[str]) -> None:
        """Drop the personal input of a person's requests (rectification values)."""
        self.connection.execute(
            update(privacy_requests)
            .where(privacy_requests.c.subject_id.in_(list(subject_ids)))
            .values(details={})
        )


class SuppressionRepository(Repository):
    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        known = self.present([str(row["hash"]) for row in rows])
        fresh = [dict(row) for row in rows if row["hash"] not in known]
        if fresh:
            self.connection.execute(insert(suppressions), fresh)

    def present(self, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(hashes))):
            rows = self.connection.execute(
                select(suppressions).where(suppressions.c.hash.in_(chunk))
            )
            found.update({str(row["hash"]): dict(row) for row in rows.mappings()})
        return found

    def is_empty(self) -> bool:
        return self.connection.execute(select(suppressions.c.hash).limit(1)).first() is None

    def remove(self, hashes: Sequence[str]) -> int:
        result = self.connection.execute(
            delete(suppressions).where(suppressions.c.hash.in_(list(hashes)))
        )
        return int(result.rowcount or 0)

    def counts(self) -> dict[str, int]:
        rows = self.connection.execute(
            select(suppressions.c.kind, func.count()).group_by(suppressions.c.kind)
        )
        return {str(kind): int(count) for kind, count in rows.all()}


class DestructionRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(destruction_records), dict(row))

    def of_subject(self, subject_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(destruction_records)
            .where(destruction_records.c.subject_id == subject_id)
            .order_by(destruction_records.c.occurred_at)
        )
        return [dict(row) for row in rows.mappings()]


class RestrictionRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(processing_restrictions), dict(row))

    def active_for(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(customer_ids)):
            rows = self.connection.execute(
                select(processing_restrictions).where(
                    processing_restrictions.c.customer_id.in_(chunk),
                    processing_restrictions.c.lifted_at.is_(None),
                )
            )
            found.extend(dict(row) for row in rows.mappings())
        return found

    def lift(self, *, request_id: str, when: datetime) -> int:
        result = self.connection.execute(
            update(processing_restrictions)
            .where(
                processing_restrictions.c.request_id == request_id,
                processing_restrictions.c.lifted_at.is_(None),
            )
            .values(lifted_at=when)
        )
        return int(result.rowcount or 0)


class LegalHoldRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(legal_holds), dict(row))

    def active_for(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(customer_ids)):
            rows = self.connection.execute(
                select(legal_holds).where(
                    legal_holds.c.customer_id.in_(chunk), legal_holds.c.released_at.is_(None)
                )
            )
            found.extend(dict(row) for row in rows.mappings())
        return found

    def held_ids(self) -> set[str]:
        rows = self.connection.execute(
            select(legal_holds.c.customer_id).where(legal_holds.c.released_at.is_(None))
        )
        return {str(customer_id) for (customer_id,) in rows.all()}

    def release(self, hold_id: str, when: datetime) -> bool:
        result = self.connection.execute(
            update(legal_holds)
            .where(legal_holds.c.id == hold_id, legal_holds.c.released_at.is_(None))
            .values(released_at=when)
        )
        return bool(result.rowcount)


class RetentionRepository(Repository):
    def policies(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(retention_policies).order_by(
                retention_policies.c.category, retention_policies.c.purpose
            )
        )
        return [dict(row) for row in rows.mappings()]

    def add_policy(self, row: Mapping[str, Any]) -> None:
        with translate_integrity_errors():
            self.connection.execute(insert(retention_policies), dict(row))

    def remove_policy(self, policy_id: str) -> bool:
        result = self.connection.execute(
            delete(retention_policies).where(retention_policies.c.id == policy_id)
        )
        return bool(result.rowcount)

    def old_events(self, cutoff: datetime, held: Sequence[str], *, delete_them: bool) -> int:
        """Events older than ``cutoff`` of people not under a legal hold; deleted if asked."""
        where: list[ColumnElement[bool]] = [events.c.occurred_at < cutoff]
        if held:
            where.append(
                or_(events.c.customer_id.is_(None), events.c.customer_id.not_in(list(held)))
            )
        if not delete_them:
            return int(
                self.connection.execute(
                    select(func.count()).select_from(events).where(*where)
                ).scalar_one()
            )
        return int(self.connection.execute(delete(events).where(*where)).rowcount or 0)

    def old_order_owners(self, cutoff: datetime, held: Sequence[str]) -> dict[str, int]:
        """customer id -> orders older than ``cutoff`` (people under a legal hold left out)."""
        query = (
            select(transactions.c.customer_id, func.count())
            .where(transactions.c.occurred_at < cutoff)
            .group_by(transactions.c.customer_id)
        )
        if held:
            query = query.where(transactions.c.customer_id.not_in(list(held)))
        return {str(owner): int(count) for owner, count in self.connection.execute(query).all()}

    def inactive_customers(self, cutoff: datetime, held: Sequence[str]) -> list[str]:
        """Active profiles with no change, visit or order since ``cutoff``."""
        last = func.coalesce(customers.c.last_seen_at, customers.c.updated_at)
        query = select(customers.c.id).where(
            customers.c.status == "active",
            customers.c.updated_at < cutoff,
            last < cutoff,
            or_(customers.c.last_order_at.is_(None), customers.c.last_order_at < cutoff),
        )
        if held:
            query = query.where(customers.c.id.not_in(list(held)))
        return [
            str(row[0]) for row in self.connection.execute(query.order_by(customers.c.id)).all()
        ]

    def add_run(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(retention_runs), dict(row))

    def runs(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, dry or not, newest first."""
        rows = self.connection.execute(
            select(retention_runs).order_by(retention_runs.c.started_at.desc()).limit(limit)
        )
        return [dict(row) for row in rows.mappings()]

    def last_run(self) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(retention_runs)
            .where(retention_runs.c.dry_run.is_(False))
            .order_by(retention_runs.c.started_at.desc())
            .limit(1)
        )
        return as_dict(row.mappings().first())


class BreachReportRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(breach_reports), dict(row))

    def recent(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """The latest reports, newest first, without their lists of people."""
        columns = [c for c in breach_reports.c if c.name != "customer_ids"]
        rows = self.connection.execute(
            select(*columns).order_by(breach_reports.c.created_at.desc()).limit(limit)
        )
        return [dict(row) for row in rows.mappings()]

    def get(self, report_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(breach_reports).where(breach_reports.c.id == report_id)
        )
        return as_dict(row.mappings().first())


class OutboxRepository(Repository):
    def add(self, row: Mapping[str, Any]) -> None:
        self.connection.execute(insert(outbox), dict(row))

    def pending(self, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(outbox)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.created_at)
            .limit(limit)
        )
        return [dict(row) for row in rows.mappings()]

    def mark_sent(self, message_id: str, when: datetime) -> None:
        self.connection.execute(
            update(outbox).where(outbox.c.id == message_id).values(sent_at=when)
        )


class StoreMetaRepository(Repository):
    def get(self, key: str) -> str | None:
        row = self.connection.execute(select(store_meta.c.value).where(store_meta.c.key == key))
        found = row.first()
        return None if found is None else str(found[0])

    def set(self, key: str, value: str, when: datetime) -> None:
        changed = self.connection.execute(
            update(store_meta).where(store_meta.c.key == key).values(value=value, updated_at=when)
        )
        if not changed.rowcount:
            self.connection.execute(
                insert(store_meta), {"key": key, "value": value, "updated_at": when}
            )


__all__ = [
    "BreachReportRepository",
    "ConsentRepository",
    "DestructionRepository",
    "LegalHoldRepository",
    "OutboxRepository",
    "PrivacyRequestRepository",
    "PurposeRepository",
    "RestrictionRepository",
    "RetentionRepository",
    "StoreMetaRepository",
    "SuppressionRepository",
]
