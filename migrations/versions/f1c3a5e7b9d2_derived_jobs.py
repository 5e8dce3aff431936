"""derived jobs: suggestion offers and embeddings computed by the worker

Revision ID: f1c3a5e7b9d2
Revises: e4b7a1c9d2f3
Create Date: 2026-12-04 17:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import cms.models.types

# revision identifiers, used by Alembic.
revision = "f1c3a5e7b9d2"
down_revision = "e4b7a1c9d2f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "derived_jobs",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", cms.models.types.UTCDateTime(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", cms.models.types.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_derived_jobs")),
    )
    with op.batch_alter_table("derived_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_derived_jobs_enqueued_at"), ["enqueued_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("derived_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_derived_jobs_enqueued_at"))
    op.drop_table("derived_jobs")
