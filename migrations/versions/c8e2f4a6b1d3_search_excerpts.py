"""search excerpts: the text each article's search snippets are cut from, kept by the index

PostgreSQL: table ``article_search_excerpts(article_id, excerpt)``, one row per indexed
article, written with its ``article_search`` row (``cms.services.search.index.pg_excerpt``: the
start of the body with its whitespace made single spaces), and filled here for the articles
already indexed. A search used to read the start of each hit's body from ``articles``, where it
is compressed: a quarter of its database time. The table's rows stay uncompressed in its own
pages (``toast_tuple_target = 8160``). SQLite: nothing to do (FTS5 cuts its own snippets).

Revision ID: c8e2f4a6b1d3
Revises: b5c1d3e7f9a2
Create Date: 2026-12-05 17:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c8e2f4a6b1d3"
down_revision = "b5c1d3e7f9a2"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "article_search_excerpts",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_article_search_excerpts_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name="pk_article_search_excerpts"),
    )
    op.execute("ALTER TABLE article_search_excerpts SET (toast_tuple_target = 8160)")
    # (as pg_excerpt writes them, for every article the index holds)
    op.execute(
        "INSERT INTO article_search_excerpts (article_id, excerpt)"
        " SELECT a.id, btrim(regexp_replace(CASE WHEN a.body_text != ''"
        " THEN substr(a.body_text, 1, 4000) ELSE coalesce(a.subtitle, '') END, '\\s+', ' ', 'g'))"
        " FROM articles a JOIN article_search s ON s.article_id = a.id"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("article_search_excerpts")
