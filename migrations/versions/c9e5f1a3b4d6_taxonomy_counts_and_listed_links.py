"""taxonomy counts and listed links: listed_count on sections, tags, authors and sources;
listed_at on the link tables, indexed (entity, listed_at, article_id); articles indexed
(status, published_at, section_id)

Revision ID: c9e5f1a3b4d6
Revises: b8d4e0f2a3c5
Create Date: 2026-12-01 09:00:00

``listed_count``: articles whose status is published or scheduled (with a ``published_at``);
public counts subtract those still to come. ``listed_at``: the article's ``published_at`` while
its status is published or scheduled, else NULL. Both are backfilled here with set-based SQL
(the same on SQLite and PostgreSQL) and kept on write by ``cms.services.taxonomy_counts``.
The new indexes start with the column the replaced single-column indexes had.
"""
from alembic import op
import sqlalchemy as sa

import cms.models.types


# revision identifiers, used by Alembic.
revision = 'c9e5f1a3b4d6'
down_revision = 'b8d4e0f2a3c5'
branch_labels = None
depends_on = None

LISTED = "status IN ('published', 'scheduled') AND published_at IS NOT NULL"
# link table -> (its taxonomy column, old index, new index)
LINKS = {
    'article_tags': ('tag_id', 'ix_article_tags_tag_id', 'ix_article_tags_tag_listed'),
    'article_authors': ('author_id', 'ix_article_authors_author_id',
                        'ix_article_authors_author_listed'),
    'article_sources': ('source_id', 'ix_article_sources_source_id',
                        'ix_article_sources_source_listed'),
}
TAXONOMIES = {'tags': 'article_tags', 'authors': 'article_authors', 'sources': 'article_sources'}


def upgrade():
    # Plain ALTER TABLE statements, which SQLite runs in place: a batch copy of a table would
    # have to drop it, which the foreign keys pointing at sections, tags ... refuse.
    for table in ('sections', 'tags', 'authors', 'sources'):
        op.add_column(table, sa.Column('listed_count', sa.Integer(), server_default='0',
                                       nullable=False))
    for table in LINKS:
        op.add_column(table, sa.Column('listed_at', cms.models.types.UTCDateTime(),
                                       nullable=True))
    op.drop_index('ix_articles_status', table_name='articles')
    op.create_index('ix_articles_status_published', 'articles',
                    ['status', 'published_at', 'section_id'], unique=False)

    # Backfill: links of listed articles carry their published_at, then count them.
    for table in LINKS:
        op.execute(
            f"UPDATE {table} SET listed_at = (SELECT a.published_at FROM articles a "
            f"WHERE a.id = {table}.article_id) "
            f"WHERE article_id IN (SELECT id FROM articles WHERE {LISTED})"
        )
    for table, (column, old_index, new_index) in LINKS.items():
        op.drop_index(old_index, table_name=table)
        op.create_index(new_index, table, [column, 'listed_at', 'article_id'], unique=False)
    op.execute(
        f"UPDATE sections SET listed_count = (SELECT count(*) FROM articles "
        f"WHERE articles.section_id = sections.id AND {LISTED})"
    )
    for taxonomy, link in TAXONOMIES.items():
        column = LINKS[link][0]
        op.execute(
            f"UPDATE {taxonomy} SET listed_count = (SELECT count(*) FROM {link} l "
            f"WHERE l.{column} = {taxonomy}.id AND l.listed_at IS NOT NULL)"
        )


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in upgrade.
    for table, (column, old_index, new_index) in LINKS.items():
        op.drop_index(new_index, table_name=table)
        op.create_index(old_index, table, [column], unique=False)
        op.drop_column(table, 'listed_at')
    op.drop_index('ix_articles_status_published', table_name='articles')
    op.create_index('ix_articles_status', 'articles', ['status'], unique=False)
    for table in ('sections', 'tags', 'authors', 'sources'):
        op.drop_column(table, 'listed_count')
