"""Add change events: what other pages should show, kept a few minutes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "change_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_event")),
        # Ids are never reused after old rows are pruned.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("change_event") as batch_op:
        batch_op.create_index(batch_op.f("ix_change_event_created_at"), ["created_at"])


def downgrade():
    with op.batch_alter_table("change_event") as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_event_created_at"))
    op.drop_table("change_event")
