"""Keep every saved description: who saved which text, and when.

Existing descriptions become the first entry of their history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "description_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_meta_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_meta_id"],
            ["file_meta.id"],
            name=op.f("fk_description_revision_file_meta_id_file_meta"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_description_revision")),
    )
    with op.batch_alter_table("description_revision") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_description_revision_file_meta_id"), ["file_meta_id"]
        )
    op.execute(
        "INSERT INTO description_revision "
        "(file_meta_id, description, version, saved_at, saved_by) "
        "SELECT id, description, version, updated_at, updated_by FROM file_meta"
    )


def downgrade():
    with op.batch_alter_table("description_revision") as batch_op:
        batch_op.drop_index(batch_op.f("ix_description_revision_file_meta_id"))
    op.drop_table("description_revision")
