"""customer scores: RFM and lifetime value per person

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_scores",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("rfm_recency_days", sa.Integer(), nullable=True),
        sa.Column("rfm_frequency", sa.Integer(), nullable=True),
        sa.Column("rfm_monetary_minor", sa.BigInteger(), nullable=True),
        sa.Column("rfm_r", sa.Integer(), nullable=True),
        sa.Column("rfm_f", sa.Integer(), nullable=True),
        sa.Column("rfm_m", sa.Integer(), nullable=True),
        sa.Column("rfm_segment", sa.String(length=24), nullable=True),
        sa.Column("rfm_as_of", sa.Date(), nullable=True),
        sa.Column("clv_expected_purchases", sa.Float(), nullable=True),
        sa.Column("clv_probability_alive", sa.Float(), nullable=True),
        sa.Column("clv_value", sa.Float(), nullable=True),
        sa.Column("clv_horizon", sa.String(length=20), nullable=True),
        sa.Column("clv_as_of", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_scores_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_scores")),
    )
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.create_index("ix_customer_scores_rfm_segment", ["rfm_segment"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_scores_rfm_segment")

    op.drop_table("customer_scores")
