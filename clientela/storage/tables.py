"""The data model as SQLAlchemy Core tables (see DESIGN.md). Migrations live in ``migrations/``.

Keys are UUIDv7 text so rows can be created anywhere (API workers, imports) without a round trip,
compared byte-wise (``CollatedKey``), and every per-customer table carries ``customer_id`` so it
can be co-located when sharded.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from clientela.storage.types import BigIntegerPK, CollatedKey, JSONType, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column[str]:
    return Column("id", CollatedKey(36), primary_key=True)


def _customer_fk(*, nullable: bool = False, ondelete: str = "CASCADE") -> Column[str]:
    return Column(
        "customer_id",
        CollatedKey(36),
        ForeignKey("customers.id", ondelete=ondelete),
        nullable=nullable,
    )


sources = Table(
    "sources",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),  # api, tracking, import, crm, manual, demo
    Column("trust_rank", Integer, nullable=False, server_default="50"),
    Column("description", Text, nullable=False, server_default=""),
    Column("write_key_hash", String(64), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("merged_into", CollatedKey(36), ForeignKey("customers.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # personal and contact
    Column("given_name", String(100)),
    Column("middle_name", String(100)),
    Column("family_name", String(100)),
    Column("full_name", String(300)),
    Column("email", Text),  # sealed (security/envelope.py)
    Column("phone", Text),  # sealed (security/envelope.py)
    Column("birth_date", Date),
    Column("gender", String(16)),
    Column("document", Text),  # sealed (security/envelope.py)
    Column("address_line1", Text),  # sealed (security/envelope.py)
    Column("address_line2", Text),  # sealed (security/envelope.py)
    Column("city", String(100)),
    Column("region", String(100)),
    Column("postal_code", String(16)),
    Column("country", String(2)),
    Column("locale", String(12)),
    # demographic
    Column("education", String(20)),
    Column("occupation", String(100)),
    Column("income_band", String(40)),
    Column("marital_status", String(24)),
    Column("household_size", Integer),
    # psychographic
    Column("interests", JSONType),
    Column("values", JSONType),
    Column("lifestyle", JSONType),
    # behavioural (summaries derived from events)
    Column("preferred_channel", String(20)),
    Column("first_seen_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),
    Column("event_count", Integer, nullable=False, server_default="0"),
    # transactional (summaries derived from transactions, in the store currency's minor unit)
    Column("preferred_payment_method", String(20)),
    Column("order_count", Integer, nullable=False, server_default="0"),
    Column("total_revenue_minor", BigInteger, nullable=False, server_default="0"),
    Column("first_order_at", UTCDateTime),
    Column("last_order_at", UTCDateTime),
    # quality and custom attributes
    Column("quality_score", Integer),
    Column("attributes", JSONType, nullable=False),
    # When each field was last said, by event time: {"email": ["2026-01-31T12:00:00+00:00",
    # "message id"]}. Later observations win whatever order they arrive in.
    Column("field_observed", JSONType),
    # The parts of quality_score and what lowers it (domain/quality.py): missing, invalid, stale
    # and inconsistent fields.
    Column("quality", JSONType),
    CheckConstraint("status IN ('active', 'merged', 'erased')", name="status"),
)
Index("ix_customers_status_id", customers.c.status, customers.c.id)
Index("ix_customers_country", customers.c.country)
Index("ix_customers_quality_score", customers.c.quality_score)
Index("ix_customers_created_at", customers.c.created_at)
Index("ix_customers_merged_into", customers.c.merged_into)

customer_name_tokens = Table(
    "customer_name_tokens",
    metadata,
    Column("token", CollatedKey(100), primary_key=True),
    Column(
        "customer_id",
        CollatedKey(36),
        ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)
Index("ix_customer_name_tokens_customer_id", customer_name_tokens.c.customer_id)

identities = Table(
    "identities",
    metadata,
    _id(),
    _customer_fk(),
    Column("kind", String(80), nullable=False),
    # A blind index for e-mail, phone and document (their plain value sealed in ``sealed``).
    Column("value", String(254), nullable=False),
    Column("sealed", Text),
    Column("source_id", CollatedKey(36), ForeignKey("sources.id")),
    Column("verified", Boolean, nullable=False, server_default="0"),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "value", name="uq_identities_kind_value"),
)
Index("ix_identities_customer_id", identities.c.customer_id)

attribute_definitions = Table(
    "attribute_definitions",
    metadata,
    Column("key", String(63), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("category", String(16), nullable=False),
    Column("sensitivity", String(16), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("enum_values", JSONType, nullable=False),
    Column("purposes", JSONType, nullable=False),
    Column("retention_days", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

field_provenance = Table(
    "field_provenance",
    metadata,
    # One row per observation: which source said which values, when. Survivorship and lineage read
    # these; a merge never deletes one, so no value is ever lost.
    Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    _customer_fk(),
    Column("source_id", CollatedKey(36), ForeignKey("sources.id")),
    Column("actor", String(120), nullable=False),
    Column("fields", JSONType, nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)
Index(
    "ix_field_provenance_customer", field_provenance.c.customer_id, field_provenance.c.observed_at
)

events = Table(
    "events",
    metadata,
    _id(),
    _customer_fk(nullable=True),
    Column("source_id", CollatedKey(36), ForeignKey("sources.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("type", String(16), nullable=False),  # identify, track, page, screen, group, alias
    Column("name", String(200)),
    Column("anonymous_id", String(200)),
    Column("user_id", String(200)),
    Column("properties", JSONType, nullable=False),
    Column("context", JSONType, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("source_id", "message_id", name="uq_events_source_message"),
)
Index("ix_events_customer_occurred", events.c.customer_id, events.c.occurred_at)
# Segment conditions over a time window ("events in the last 90 days"): a range scan of the
# window that never reads the table.
Index("ix_events_occurred_customer", events.c.occurred_at, events.c.customer_id, events.c.name)
Index("ix_events_anonymous_id", events.c.anonymous_id)

transactions = Table(
    "transactions",
    metadata,
    _id(),
    _customer_fk(),
    Column("source_id", CollatedKey(36), ForeignKey("sources.id"), nullable=False),
    Column("order_id", String(200), nullable=False),
    Column(
        "status", String(20), nullable=False
    ),  # completed, refunded, partially_refunded, cancelled
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("items", JSONType, nullable=False),
    Column("channel", String(20)),
    Column("payment_method", String(20)),
    Column("event_id", CollatedKey(36), ForeignKey("events.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_id", "order_id", name="uq_transactions_source_order"),
)
# Covering indexes: per-customer aggregates (RFM, lifetime value) read the first in customer
# order, windowed segment conditions range-scan the second; neither reads the table.
Index(
    "ix_transactions_customer_occurred",
    transactions.c.customer_id,
    transactions.c.occurred_at,
    transactions.c.status,
    transactions.c.amount_minor,
    transactions.c.refunded_minor,
)
Index(
    "ix_transactions_occurred_customer",
    transactions.c.occurred_at,
    transactions.c.customer_id,
    transactions.c.status,
    transactions.c.amount_minor,
    transactions.c.refunded_minor,
)

purposes = Table(
    "purposes",
    metadata,
    _id(),
    Column("key", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("lawful_basis", String(40), nullable=False),
    Column("data_categories", JSONType, nullable=False),
    Column("recipients", JSONType, nullable=False),
    Column("international_transfers", JSONType, nullable=False),
    Column("retention_days", Integer),
    Column("security_measures", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

consent_events = Table(
    "consent_events",
    metadata,
    _id(),
    # Kept as evidence after erasure, without the person: hence SET NULL, not CASCADE.
    _customer_fk(nullable=True, ondelete="SET NULL"),
    Column("purpose_id", CollatedKey(36), ForeignKey("purposes.id"), nullable=False),
    Column("action", String(16), nullable=False),  # grant, deny, withdraw
    Column("mechanism", String(16), nullable=False),  # opt_in, opt_out, notice_only
    Column("lawful_basis", String(40), nullable=False),
    Column("evidence", JSONType, nullable=False),
    Column("source_id", CollatedKey(36), ForeignKey("sources.id")),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("action IN ('grant', 'deny', 'withdraw')", name="action"),
)
Index(
    "ix_consent_events_customer_purpose",
    consent_events.c.customer_id,
    consent_events.c.purpose_id,
    consent_events.c.occurred_at,
)
# The DPO's ledger search: newest first, across everyone, optionally for one purpose.
Index("ix_consent_events_occurred", consent_events.c.occurred_at)
Index(
    "ix_consent_events_purpose_occurred",
    consent_events.c.purpose_id,
    consent_events.c.occurred_at,
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigIntegerPK, primary_key=True, autoincrement=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    # No foreign key: the trail outlives the person it is about.
    Column("customer_id", CollatedKey(36)),
    Column("fields", JSONType, nullable=False),
    Column("purpose", String(63)),
    Column("request_id", String(64)),
    Column("ip", String(45)),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
)
Index("ix_audit_entries_customer", audit_entries.c.customer_id, audit_entries.c.seq)
Index("ix_audit_entries_actor", audit_entries.c.actor, audit_entries.c.occurred_at)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    # Signed (sequence, seal) pairs: entries cut off the end of the chain are noticed.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_audit_entries_occurred_at", audit_entries.c.occurred_at)

users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False, server_default=""),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("must_change_password", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    # TOTP secret, encrypted under a key derived from the master key (never stored plain)
    Column("mfa_secret", Text),
    Column("mfa_enabled_at", UTCDateTime),
    # the last 30-second step a code was accepted for: each code works once
    Column("mfa_last_step", BigInteger),
    Column("password_changed_at", UTCDateTime),
    # the pages' language (clientela.web.i18n.LANGUAGES); empty: the browser's
    Column("language", String(12)),
)

user_recovery_codes = Table(
    "user_recovery_codes",
    metadata,
    _id(),
    Column("user_id", CollatedKey(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", UTCDateTime),
)
Index("ix_user_recovery_codes_user", user_recovery_codes.c.user_id)

user_sessions = Table(
    "user_sessions",
    metadata,
    # Sign-in sessions of the web application: only a digest of the token is stored.
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", CollatedKey(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("mfa_passed", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("ip", String(45)),
    Column("ended_at", UTCDateTime),
)
Index("ix_user_sessions_user", user_sessions.c.user_id)

login_attempts = Table(
    "login_attempts",
    metadata,
    # Failed sign-ins for throttling, by keyed hash of the e-mail typed (so unknown accounts
    # are throttled alike and the table names nobody) and by IP address.
    Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    Column("account_hash", String(64), nullable=False),
    Column("ip", String(45)),
    Column("occurred_at", UTCDateTime, nullable=False),
)
Index("ix_login_attempts_account", login_attempts.c.account_hash, login_attempts.c.occurred_at)
Index("ix_login_attempts_ip", login_attempts.c.ip, login_attempts.c.occurred_at)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("scopes", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

merges = Table(
    "merges",
    metadata,
    _id(),
    Column("survivor_id", CollatedKey(36), ForeignKey("customers.id"), nullable=False),
    Column("merged_id", CollatedKey(36), ForeignKey("customers.id"), nullable=False),
    Column("reason", String(20), nullable=False),  # identity, alias, probabilistic, manual
    Column("score", Integer),
    Column("actor", String(120), nullable=False),
    # Everything needed to undo the merge exactly: the merged profile as it was and the ids of
    # the rows that were re-pointed to the survivor.
    Column("snapshot", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime),
)
Index("ix_merges_survivor", merges.c.survivor_id)
Index("ix_merges_merged", merges.c.merged_id)

imports = Table(
    "imports",
    metadata,
    _id(),
    Column("kind", String(20), nullable=False),  # customers, transactions, events
    Column("source", String(100), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("actor", String(120), nullable=False),
    Column("summary", JSONType),
    Column("reject_file", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

identity_flags = Table(
    "identity_flags",
    metadata,
    # Identity values that keep pointing at different accounts (a family e-mail, a shared
    # device): counted, and blocked from linking once they pass the setting's limit.
    Column("kind", String(80), primary_key=True),
    Column("value", String(254), primary_key=True),
    Column("conflicts", Integer, nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

match_candidates = Table(
    "match_candidates",
    metadata,
    # Pairs of profiles the duplicate model thinks are one person (``left_id < right_id``). The
    # row outlives the decision: a rejected pair is never proposed again.
    _id(),
    Column(
        "left_id", CollatedKey(36), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "right_id", CollatedKey(36), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("probability", Float, nullable=False),
    Column("match_weight", Float, nullable=False),
    # field -> {"level": label, "weight": log2 Bayes factor}: why the model scored it so
    Column("explanation", JSONType, nullable=False),
    Column("status", String(16), nullable=False),  # pending, accepted, rejected, merged
    Column("model_version", Integer, nullable=False),
    Column("run_id", CollatedKey(36), nullable=False),
    Column("merge_id", CollatedKey(36)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(120)),
    UniqueConstraint("left_id", "right_id"),
)
Index("ix_match_candidates_status", match_candidates.c.status, match_candidates.c.probability)
Index("ix_match_candidates_right", match_candidates.c.right_id)

dedupe_models = Table(
    "dedupe_models",
    metadata,
    # Trained Fellegi-Sunter models (Splink settings with m and u), one version per training.
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("model", JSONType, nullable=False),
    Column("trained_on", Integer, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

dedupe_runs = Table(
    "dedupe_runs",
    metadata,
    _id(),
    Column("mode", String(16), nullable=False),  # full, incremental
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("model_version", Integer),
    Column("summary", JSONType),
    Column("actor", String(120), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

privacy_requests = Table(
    "privacy_requests",
    metadata,
    # A data-subject request. The identity it names is kept only as a keyed hash: the request
    # outlives an erasure as proof, and must not bring the person back.
    _id(),
    Column("kind", String(20), nullable=False),
    Column("status", String(16), nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    _customer_fk(nullable=True, ondelete="SET NULL"),
    Column("subject_id", CollatedKey(36)),  # the customer id, kept after erasure (pseudonymous)
    Column("identity_kind", String(80), nullable=False),
    Column("identity_hash", String(64), nullable=False),
    Column("erasure_mode", String(16)),
    # Kind-specific input: purposes (objection, restriction), changes (rectification, personal
    # data: scrubbed when the request closes).
    Column("details", JSONType, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("respond_by", Date, nullable=False),
    Column("extended_respond_by", Date),
    Column("extend_notice_by", Date),
    Column("acknowledge_by", Date),
    Column("acknowledged_at", UTCDateTime),
    Column("extended_at", UTCDateTime),
    Column("verification", JSONType, nullable=False),
    Column("result", JSONType),
    Column("reason", Text),
    Column("created_by", String(120), nullable=False),
    Column("closed_at", UTCDateTime),
    CheckConstraint(
        "status IN ('received', 'verifying', 'in_progress', 'extended', 'completed', 'denied')",
        name="status",
    ),
)
Index("ix_privacy_requests_status_due", privacy_requests.c.status, privacy_requests.c.respond_by)
Index("ix_privacy_requests_subject", privacy_requests.c.subject_id)

privacy_request_steps = Table(
    "privacy_request_steps",
    metadata,
    # Every step of a request, for the DPO's proof: who moved it, when, from what to what.
    _id(),
    Column(
        "request_id",
        CollatedKey(36),
        ForeignKey("privacy_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16)),
    Column("note", Text, nullable=False, server_default=""),
)
Index("ix_privacy_request_steps_request", privacy_request_steps.c.request_id)

suppressions = Table(
    "suppressions",
    metadata,
    # Keyed hashes (HMAC-SHA256) of identifiers of erased people: a re-import or a tracking
    # call naming them is refused and reported instead of recreating the person.
    Column("hash", String(64), primary_key=True),
    Column("kind", String(80), nullable=False),
    Column("reason", String(40), nullable=False),  # erasure, opt_out
    Column("request_id", CollatedKey(36)),
    Column("created_at", UTCDateTime, nullable=False),
)

destruction_records = Table(
    "destruction_records",
    metadata,
    # What was destroyed, when, by whom and on what legal basis; never the values.
    _id(),
    Column("subject_id", CollatedKey(36), nullable=False),
    Column("request_id", CollatedKey(36)),
    Column("mode", String(16), nullable=False),
    Column("legal_basis", String(200), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("detail", JSONType, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
)
Index("ix_destruction_records_subject", destruction_records.c.subject_id)

processing_restrictions = Table(
    "processing_restrictions",
    metadata,
    # Restriction, objection, opt-out, blocking, or data under dispute: eligibility says no
    # for the listed purposes (all of them when the list is empty) until lifted.
    _id(),
    _customer_fk(),
    Column("kind", String(16), nullable=False),
    Column("purposes", JSONType, nullable=False),
    Column("fields", JSONType, nullable=False),
    Column("request_id", CollatedKey(36)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("lifted_at", UTCDateTime),
)
Index(
    "ix_processing_restrictions_customer",
    processing_restrictions.c.customer_id,
    processing_restrictions.c.lifted_at,
)

legal_holds = Table(
    "legal_holds",
    metadata,
    # Litigation or a legal duty to keep: stops retention and erasure for the person.
    _id(),
    _customer_fk(),
    Column("reason", Text, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("released_at", UTCDateTime),
)
Index("ix_legal_holds_customer", legal_holds.c.customer_id, legal_holds.c.released_at)

retention_policies = Table(
    "retention_policies",
    metadata,
    # How long a data category is kept: behavioural -> events by age; transactional ->
    # orders folded into anonymous aggregates; personal -> inactive profiles erased.
    _id(),
    Column("category", String(16), nullable=False),
    Column("purpose", String(63)),
    Column("days", Integer, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("category", "purpose", name="uq_retention_policies_category_purpose"),
)

retention_runs = Table(
    "retention_runs",
    metadata,
    _id(),
    Column("dry_run", Boolean, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("summary", JSONType, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
)

transaction_aggregates = Table(
    "transaction_aggregates",
    metadata,
    # What remains of erased people's orders where the law lets sales figures be kept (LGPD
    # Art. 16): totals per day, currency, source, channel and payment method; no person.
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("source_id", CollatedKey(36), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("payment_method", String(20), primary_key=True),
    Column("orders", Integer, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
)

breach_reports = Table(
    "breach_reports",
    metadata,
    _id(),
    Column("compromised", JSONType, nullable=False),  # {"kind": actor|api_key|store, "id": ...}
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("aware_at", UTCDateTime, nullable=False),
    Column("summary", JSONType, nullable=False),
    Column("customer_ids", JSONType, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    # Messages to people (verification codes), waiting for a sender to deliver them.
    _id(),
    _customer_fk(nullable=True),  # empty for messages to staff (account notices)
    Column("channel", String(16), nullable=False),  # email, sms
    Column("address", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
)

customer_keys = Table(
    "customer_keys",
    metadata,
    # Each customer's data key, wrapped by the master key. No foreign key: a key outlives a
    # merge of its profile, and erasing the person deletes it (crypto-shredding). Backups
    # leave these rows out.
    Column("key_id", CollatedKey(36), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

store_meta = Table(
    "store_meta",
    metadata,
    # Facts about the store itself, e.g. the check value of its master key (never the key).
    Column("key", String(63), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

analysis_results = Table(
    "analysis_results",
    metadata,
    # Whole-base analyses too slow to compute on every page view (the cohort matrix), kept
    # from their last run with the time they were computed.
    Column("name", String(40), primary_key=True),
    Column("result", JSONType, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
)

customer_scores = Table(
    "customer_scores",
    metadata,
    # Derived analytics per person, recomputed by their runs: RFM, lifetime value (churn risk
    # comes with its model). Usable in segments like profile fields.
    Column(
        "customer_id",
        CollatedKey(36),
        ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("rfm_recency_days", Integer),
    Column("rfm_frequency", Integer),
    Column("rfm_monetary_minor", BigInteger),
    Column("rfm_r", Integer),
    Column("rfm_f", Integer),
    Column("rfm_m", Integer),
    Column("rfm_segment", String(24)),
    Column("rfm_as_of", Date),
    Column("clv_expected_purchases", Float),
    Column("clv_probability_alive", Float),
    Column("clv_value", Float),
    Column("clv_horizon", String(20)),
    Column("clv_as_of", Date),
    Column("churn_score", Float),
    Column("churn_reasons", JSONType),
    Column("churn_as_of", Date),
    Column("recommendations", JSONType),  # [{product, score}], best first
    Column("recommendations_as_of", Date),
)
Index("ix_customer_scores_rfm_segment", customer_scores.c.rfm_segment)

segments = Table(
    "segments",
    metadata,
    # Saved segment definitions; membership is materialised on demand or every
    # ``refresh_minutes``, its history kept in segment_memberships.
    _id(),
    Column("key", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("definition", JSONType, nullable=False),
    Column("refresh_minutes", Integer),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("materialised_at", UTCDateTime),
    Column("member_count", Integer),
)

segment_memberships = Table(
    "segment_memberships",
    metadata,
    # One row per stay in a segment: entered at a materialisation, exited (set) at the first
    # later one that no longer selects the person. Open rows are the current members.
    Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    Column(
        "segment_id", CollatedKey(36), ForeignKey("segments.id", ondelete="CASCADE"), nullable=False
    ),
    _customer_fk(),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("exited_at", UTCDateTime),
)
Index(
    "uq_segment_memberships_open",
    segment_memberships.c.segment_id,
    segment_memberships.c.customer_id,
    unique=True,
    sqlite_where=segment_memberships.c.exited_at.is_(None),
    postgresql_where=segment_memberships.c.exited_at.is_(None),
)
Index(
    "ix_segment_memberships_entered",
    segment_memberships.c.segment_id,
    segment_memberships.c.entered_at,
)
Index(
    "ix_segment_memberships_exited",
    segment_memberships.c.segment_id,
    segment_memberships.c.exited_at,
)
Index("ix_segment_memberships_customer", segment_memberships.c.customer_id)

destinations = Table(
    "destinations",
    metadata,
    # Where audiences are delivered: webhooks of marketing and CRM tools. The signing secret is
    # sealed with a key derived from the master key (never stored in the clear).
    _id(),
    Column("key", String(63), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # webhook
    Column("url", String(2000), nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("batch_size", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_delivery_at", UTCDateTime),
    Column("last_delivery", JSONType),  # {status, records, batches, error}
)
