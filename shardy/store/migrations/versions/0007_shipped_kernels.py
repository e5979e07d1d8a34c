"""shipped kernels: kernels submitted as data, stored by hash; longer kernel names on tasks

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kernels",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("spec", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.alter_column(
            "kernel", existing_type=sa.String(64), type_=sa.String(80), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.alter_column(
            "kernel", existing_type=sa.String(80), type_=sa.String(64), existing_nullable=False
        )
    op.drop_table("kernels")
