"""quality parts of each profile

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column(
                "quality",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    op.create_index("ix_customers_quality_score", "customers", ["quality_score"])


def downgrade() -> None:
    op.drop_index("ix_customers_quality_score", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("quality")
