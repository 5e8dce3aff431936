"""full-text search index

PostgreSQL: table ``article_search`` (one row per article: text-search configuration and a
weighted tsvector) with a GIN index; its foreign key deletes the row with the article.
SQLite: FTS5 table ``article_search`` (rowid = article id) and a trigger that deletes the row
with the article. Note: a batch ("move and copy") migration of ``articles`` on SQLite drops that
trigger; ``flask search reindex`` re-creates it.

The application writes the rows (cms/services/search.py); this migration fills them for the
articles that already exist. These objects are not SQLAlchemy models: the drift check skips the
names in ``cms.services.search.index.SEARCH_INDEX_OBJECTS``.

Revision ID: 3d2bd3b66876
Revises: c805542d9fa6
Create Date: 2026-11-29 06:16:05.563133

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401
from sqlalchemy import Text  # noqa: F401

import cms.models.types  # noqa: F401


# revision identifiers, used by Alembic.
revision = '3d2bd3b66876'
down_revision = 'c805542d9fa6'
branch_labels = None
depends_on = None


# Frozen copy of the language -> text-search configuration mapping at this revision.
_PG_CONFIG = (
    "CASE WHEN a.language = 'en' OR a.language LIKE 'en-%' THEN 'english' "
    "WHEN a.language = 'de' OR a.language LIKE 'de-%' THEN 'german' "
    "ELSE 'simple' END::regconfig"
)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE TABLE article_search ("
            " article_id INTEGER NOT NULL,"
            " config REGCONFIG NOT NULL,"
            " document TSVECTOR NOT NULL,"
            " CONSTRAINT pk_article_search PRIMARY KEY (article_id),"
            " CONSTRAINT fk_article_search_article_id_articles FOREIGN KEY (article_id)"
            " REFERENCES articles (id) ON DELETE CASCADE)"
        )
        op.execute(
            "CREATE INDEX ix_article_search_document ON article_search USING gin (document)"
        )
        op.execute(
            "INSERT INTO article_search (article_id, config, document) "
            "SELECT a.id, c.config, "
            "setweight(to_tsvector(c.config, a.title), 'A') || "
            "setweight(to_tsvector(c.config, a.subtitle), 'B') || "
            "setweight(to_tsvector(c.config, coalesce((SELECT string_agg(t.name, ' ') "
            "FROM article_tags at JOIN tags t ON t.id = at.tag_id "
            "WHERE at.article_id = a.id), '')), 'B') || "
            "setweight(to_tsvector(c.config, a.body_text), 'D') "
            f"FROM articles a CROSS JOIN LATERAL (SELECT {_PG_CONFIG} AS config) c"
        )
    elif dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "title, subtitle, body, tags, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles "
            "BEGIN DELETE FROM article_search WHERE rowid = old.id; END"
        )
        op.execute(
            "INSERT INTO article_search (rowid, title, subtitle, body, tags) "
            "SELECT a.id, a.title, a.subtitle, a.body_text, "
            "coalesce((SELECT group_concat(t.name, ' ') FROM article_tags at "
            "JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id), '') "
            "FROM articles a"
        )
    else:
        raise NotImplementedError(f"No full-text search index for {dialect}.")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS article_search_delete")
    op.execute("DROP TABLE IF EXISTS article_search")
