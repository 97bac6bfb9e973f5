"""identity flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 02:15:42.544618
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import clientela.storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_flags",
        sa.Column("kind", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column(
            "first_seen_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("kind", "value", name=op.f("pk_identity_flags")),
    )


def downgrade() -> None:
    op.drop_table("identity_flags")
