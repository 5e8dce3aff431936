"""event counters on the content generation row: the last event sequence given and the
webhook endpoints' version

Revision ID: a7e2c4f6b8d1
Revises: a7d3e9f1c2b4
Create Date: 2026-12-04 18:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7e2c4f6b8d1"
down_revision = "a7d3e9f1c2b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("content_generation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("event_sequence", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("webhooks_version", sa.BigInteger(), server_default="0", nullable=False)
        )
    # Go on numbering where the event log stands.
    op.execute(
        "UPDATE content_generation SET event_sequence = "
        "(SELECT COALESCE(MAX(sequence), 0) FROM events)"
    )


def downgrade():
    with op.batch_alter_table("content_generation", schema=None) as batch_op:
        batch_op.drop_column("webhooks_version")
        batch_op.drop_column("event_sequence")
