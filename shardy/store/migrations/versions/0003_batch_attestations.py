"""batch attestations

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attestation_batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=255), nullable=False),
        sa.Column("commitment", sa.String(length=80), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("proof", sa.JSON(), nullable=False),
        sa.Column("public_signals", sa.JSON(), nullable=False),
        sa.Column("signals_hash", sa.String(length=64), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("signals_hash"),
    )
    with op.batch_alter_table("replicas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("batch_index", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("batch_path", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("timings", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_replicas_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replicas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replicas_batch_id"))
        batch_op.drop_column("timings")
        batch_op.drop_column("batch_path")
        batch_op.drop_column("batch_index")
        batch_op.drop_column("batch_id")

    op.drop_table("attestation_batches")
