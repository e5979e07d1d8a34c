"""trust boundary: operators, remote workers, server-side assignments, dead-letter refs

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "assignments",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("replica", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "round", "replica"),
    )
    op.create_index("ix_assignments_worker_id", "assignments", ["worker_id"], unique=False)
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="fleet")
        )
        batch_op.add_column(sa.Column("operator", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("public_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_workers_operator", ["operator"], unique=False)
        batch_op.create_unique_constraint("uq_workers_public_key", ["public_key"])
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_dead_letters_ref", ["ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letters_ref")
        batch_op.drop_column("ref")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_workers_public_key", type_="unique")
        batch_op.drop_index("ix_workers_operator")
        for column in ("revoked_at", "public_key", "operator", "kind"):
            batch_op.drop_column(column)
    op.drop_index("ix_assignments_worker_id", table_name="assignments")
    op.drop_table("assignments")
    op.drop_table("operators")
