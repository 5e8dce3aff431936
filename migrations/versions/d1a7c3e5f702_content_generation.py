"""content generation counter

Revision ID: d1a7c3e5f702
Revises: c9e5f1a3b4d6
Create Date: 2026-12-04 15:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd1a7c3e5f702'
down_revision = 'c9e5f1a3b4d6'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('content_generation',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_generation'))
    )
    op.bulk_insert(table, [{'id': 1, 'value': 0}])


def downgrade():
    op.drop_table('content_generation')
