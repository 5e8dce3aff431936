"""corrections and takedowns: the append-only corrections log and admin takedowns

Revision ID: d4a7c2e9b1f0
Revises: d4a7c2e9f1b3
Create Date: 2026-12-04 15:45:00

Articles gain the status ``taken_down`` (a string column: nothing to alter).
"""
from alembic import op
import sqlalchemy as sa

import cms.models.types


# revision identifiers, used by Alembic.
revision = 'd4a7c2e9b1f0'
down_revision = 'd4a7c2e9f1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('block_index', sa.Integer(), nullable=True),
    sa.Column('block_source', sa.String(length=200), nullable=True),
    sa.Column('created_at', cms.models.types.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_at', cms.models.types.UTCDateTime(), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_corrections_article_id_articles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_corrections_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_corrections_hidden_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrections'))
    )
    op.create_index('ix_corrections_article_id', 'corrections', ['article_id', 'id'], unique=False)
    op.create_table('takedowns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('previous_status', sa.String(length=16), nullable=False),
    sa.Column('created_at', cms.models.types.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', cms.models.types.UTCDateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_takedowns_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_takedowns_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_takedowns_revoked_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedowns'))
    )
    op.create_index('ix_takedowns_article_id', 'takedowns', ['article_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_takedowns_article_id', table_name='takedowns')
    op.drop_table('takedowns')
    op.drop_index('ix_corrections_article_id', table_name='corrections')
    op.drop_table('corrections')
