"""the DPO's consent-ledger search (indexes by time and by purpose and time) and stored results
of whole-base analyses (the cohort matrix)

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from clientela.storage.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_results",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analysis_results")),
    )
    op.create_index("ix_consent_events_occurred", "consent_events", ["occurred_at"])
    op.create_index(
        "ix_consent_events_purpose_occurred", "consent_events", ["purpose_id", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_consent_events_purpose_occurred", table_name="consent_events")
    op.drop_index("ix_consent_events_occurred", table_name="consent_events")
    op.drop_table("analysis_results")
