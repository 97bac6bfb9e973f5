"""covering indexes for windowed segment conditions and per-customer order aggregates

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_occurred_customer", ["occurred_at", "customer_id", "name"], unique=False
        )

    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_customer_occurred"))
        batch_op.create_index(
            "ix_transactions_customer_occurred",
            ["customer_id", "occurred_at", "status", "amount_minor", "refunded_minor"],
            unique=False,
        )
        batch_op.create_index(
            "ix_transactions_occurred_customer",
            ["occurred_at", "customer_id", "status", "amount_minor", "refunded_minor"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_occurred_customer")
        batch_op.drop_index("ix_transactions_customer_occurred")
        batch_op.create_index(
            batch_op.f("ix_transactions_customer_occurred"),
            ["customer_id", "occurred_at"],
            unique=False,
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_occurred_customer")
