"""churn scores: risk, its reasons and the day scored, per customer

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("churn_score", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "churn_reasons",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("churn_as_of", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_column("churn_as_of")
        batch_op.drop_column("churn_reasons")
        batch_op.drop_column("churn_score")
