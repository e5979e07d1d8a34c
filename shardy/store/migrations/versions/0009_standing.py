"""standing that decides: voter standings, spot checks, re-checks, assurance, platforms

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standings",
        sa.Column("voter", sa.String(255), primary_key=True),
        sa.Column("good", sa.Float(), nullable=False),
        sa.Column("bad", sa.Float(), nullable=False),
        sa.Column("judged", sa.Integer(), nullable=False),
        sa.Column("faults", sa.Integer(), nullable=False),
        sa.Column("latency", sa.Float(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantined_by", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_standings_quarantined_at", "standings", ["quarantined_at"])
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spot_digest", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("assurance", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("recheck_of", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("single_voter", sa.String(255), nullable=True))
        batch_op.create_index("ix_tasks_single_voter", ["single_voter"])
        batch_op.add_column(sa.Column("platform", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("platform")
        batch_op.drop_index("ix_tasks_single_voter")
        batch_op.drop_column("single_voter")
        batch_op.drop_column("recheck_of")
        batch_op.drop_column("assurance")
        batch_op.drop_column("spot_digest")
    op.drop_index("ix_standings_quarantined_at", "standings")
    op.drop_table("standings")
