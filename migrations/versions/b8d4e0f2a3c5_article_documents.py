"""article documents: the public card JSON of each article, built on write

Revision ID: b8d4e0f2a3c5
Revises: f9f54682a2af
Create Date: 2026-11-29 09:00:00

Starts empty: reads build what is missing on the fly until
``flask --app wsgi documents rebuild`` (or the next edit of each article) stores it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8d4e0f2a3c5'
down_revision = 'f9f54682a2af'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('article_documents',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('article_version', sa.Integer(), nullable=False),
    sa.Column('card', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_documents_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', name=op.f('pk_article_documents'))
    )


def downgrade():
    op.drop_table('article_documents')
