"""article embeddings: stored sentence embeddings for the semantic related-articles backend

Revision ID: d4a7c2e9f1b3
Revises: e3b9d5f7a104
Create Date: 2026-12-04 15:40:00

One row per article with the float32 vector of its title, standfirst and lead, the model that
made it and a fingerprint of the embedded text. Written only with CMS_RELATED_BACKEND=semantic;
``flask --app wsgi related rebuild`` fills it for existing articles.
"""
from alembic import op
import sqlalchemy as sa

import cms.models.types


# revision identifiers, used by Alembic.
revision = 'd4a7c2e9f1b3'
down_revision = 'e3b9d5f7a104'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'article_embeddings',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=80), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('dim', sa.Integer(), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('computed_at', cms.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('article_id'),
    )


def downgrade():
    op.drop_table('article_embeddings')
