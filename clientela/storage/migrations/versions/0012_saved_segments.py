"""saved segments and their membership history (entered / exited per stay)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import clientela.storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("refresh_minutes", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "materialised_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("member_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("key", name=op.f("uq_segments_key")),
    )
    op.create_table(
        "segment_memberships",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("segment_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("entered_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("exited_at", clientela.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_segment_memberships_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_memberships_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_memberships")),
    )
    with op.batch_alter_table("segment_memberships", schema=None) as batch_op:
        batch_op.create_index("ix_segment_memberships_customer", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_segment_memberships_entered", ["segment_id", "entered_at"], unique=False
        )
        batch_op.create_index(
            "ix_segment_memberships_exited", ["segment_id", "exited_at"], unique=False
        )
        batch_op.create_index(
            "uq_segment_memberships_open",
            ["segment_id", "customer_id"],
            unique=True,
            sqlite_where=sa.text("exited_at IS NULL"),
            postgresql_where=sa.text("exited_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_memberships", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_segment_memberships_open",
            sqlite_where=sa.text("exited_at IS NULL"),
            postgresql_where=sa.text("exited_at IS NULL"),
        )
        batch_op.drop_index("ix_segment_memberships_exited")
        batch_op.drop_index("ix_segment_memberships_entered")
        batch_op.drop_index("ix_segment_memberships_customer")

    op.drop_table("segment_memberships")
    op.drop_table("segments")
