"""attestations, replay guard and verifier keys

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("vkey", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verifier_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verifier_keys_state"), ["state"], unique=False)

    with op.batch_alter_table("replicas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("proof", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("public_signals", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("proof_valid", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("commitment", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("signals_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_replica_commitment", ["task_id", "commitment"])
        batch_op.create_unique_constraint("uq_replica_signals", ["signals_hash"])

    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invalid", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("invalid")

    with op.batch_alter_table("replicas", schema=None) as batch_op:
        batch_op.drop_constraint("uq_replica_signals", type_="unique")
        batch_op.drop_constraint("uq_replica_commitment", type_="unique")
        batch_op.drop_column("signals_hash")
        batch_op.drop_column("commitment")
        batch_op.drop_column("proof_valid")
        batch_op.drop_column("public_signals")
        batch_op.drop_column("proof")
        batch_op.drop_column("key_id")

    with op.batch_alter_table("verifier_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verifier_keys_state"))

    op.drop_table("verifier_keys")
