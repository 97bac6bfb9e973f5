"""sealed personal fields: customers' data keys, wider columns for sealed values, the sealed
copy of an identity beside its blind index

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clientela.storage.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_WIDENED = {
    "email": 254,
    "phone": 20,
    "document": 20,
    "address_line1": 200,
    "address_line2": 200,
}


def upgrade() -> None:
    op.create_table(
        "customer_keys",
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_customer_keys")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, length in _WIDENED.items():
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=length),
                type_=sa.Text(),
                existing_nullable=True,
            )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.Text(), nullable=True))
    # Values already stored are sealed by the store itself on its next upgrade (it holds the
    # master key; migrations do not): Store.upgrade → storage/sealing_backfill.py.


def downgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("sealed")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, length in _WIDENED.items():
            batch_op.alter_column(
                name,
                existing_type=sa.Text(),
                type_=sa.String(length=length),
                existing_nullable=True,
            )
    op.drop_table("customer_keys")
