"""recommendations: each customer's next best products and the day they were computed

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "recommendations",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("recommendations_as_of", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_column("recommendations_as_of")
        batch_op.drop_column("recommendations")
