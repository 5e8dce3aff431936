"""search index in publication order: the index carries when each article is listed

PostgreSQL: column ``article_search.listed_at`` (the article's ``published_at`` while its status
is public, else NULL; ``cms.services.visibility.listed_at``) and a btree index on
``(listed_at, article_id)``, and its ``section_id`` with one on ``(section_id, listed_at,
article_id)``, so the newest matches are read from the index table alone; each
document gains a lexeme naming its configuration (" config english"), so a query restricted to
documents of one configuration is answered by the GIN index alone.
SQLite: the FTS5 table is rebuilt with each article's *search key* as rowid (whole seconds of
``published_at`` * 2**31 + id while listed, else -2**63 + id), so FTS5 hands out matches newest
first; table ``article_search_keys`` maps article id -> key, and the delete trigger uses it.

Revision ID: a7d3e9f1c2b4
Revises: a7c3e1f5b9d0
Create Date: 2026-12-04 18:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7d3e9f1c2b4"
down_revision = "a7c3e1f5b9d0"
branch_labels = None
depends_on = None

# The lexeme naming each document's text-search configuration (cms.services.search).
_MARK = " config "
_LISTED = "a.status IN ('published', 'scheduled') AND a.published_at IS NOT NULL"
# Frozen copy of cms.services.search.index.sqlite_key_sql at this revision.
_SQLITE_KEY = (
    f"CASE WHEN {_LISTED} THEN max(min(CAST(strftime('%s', a.published_at) AS INTEGER), "
    "4294967295), -2147483648) * 2147483648 + a.id "
    "ELSE (-9223372036854775807 - 1) + a.id END"
)
_TAGS = (
    "coalesce((SELECT group_concat(t.name, ' ') FROM article_tags at "
    "JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id), '')"
)
_FTS = (
    "CREATE VIRTUAL TABLE article_search USING fts5("
    "title, subtitle, body, tags, tokenize = 'porter unicode61 remove_diacritics 2')"
)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE article_search ADD COLUMN listed_at TIMESTAMP WITHOUT TIME ZONE")
        op.execute("ALTER TABLE article_search ADD COLUMN section_id INTEGER")
        op.execute(
            "UPDATE article_search s SET "
            f"listed_at = CASE WHEN {_LISTED} THEN a.published_at END, section_id = a.section_id, "
            f"document = s.document || array_to_tsvector(ARRAY['{_MARK}' || s.config::text]) "
            "FROM articles a WHERE a.id = s.article_id"
        )
        op.execute(
            "CREATE INDEX ix_article_search_listed ON article_search (listed_at, article_id) "
            "WHERE listed_at IS NOT NULL"
        )
        op.execute(
            "CREATE INDEX ix_article_search_section_listed ON article_search "
            "(section_id, listed_at, article_id) WHERE listed_at IS NOT NULL"
        )
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS article_search_delete")
        op.execute("DROP TABLE IF EXISTS article_search")
        op.execute(_FTS)
        op.execute(
            "CREATE TABLE article_search_keys ("
            "article_id INTEGER NOT NULL PRIMARY KEY, search_rowid INTEGER NOT NULL)"
        )
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM article_search WHERE rowid = "
            "(SELECT search_rowid FROM article_search_keys WHERE article_id = old.id); "
            "DELETE FROM article_search_keys WHERE article_id = old.id; END"
        )
        op.execute(
            "INSERT INTO article_search_keys (article_id, search_rowid) "
            f"SELECT a.id, {_SQLITE_KEY} FROM articles a"
        )
        op.execute(
            "INSERT INTO article_search (rowid, title, subtitle, body, tags) "
            f"SELECT {_SQLITE_KEY}, a.title, a.subtitle, a.body_text, {_TAGS} FROM articles a"
        )
        # One segment, as `flask search reindex` leaves it: walks in rowid order stay cheap.
        op.execute("INSERT INTO article_search (article_search) VALUES ('optimize')")
    else:
        raise NotImplementedError(f"No full-text search index for {dialect}.")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_article_search_section_listed")
        op.execute("DROP INDEX IF EXISTS ix_article_search_listed")
        op.execute("ALTER TABLE article_search DROP COLUMN section_id")
        op.execute("ALTER TABLE article_search DROP COLUMN listed_at")
        marks = ", ".join(f"'{_MARK}{cfg}'" for cfg in ("english", "german", "simple"))
        op.execute(f"UPDATE article_search SET document = ts_delete(document, ARRAY[{marks}])")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS article_search_delete")
        op.execute("DROP TABLE IF EXISTS article_search")
        op.execute("DROP TABLE IF EXISTS article_search_keys")
        op.execute(_FTS)
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles "
            "BEGIN DELETE FROM article_search WHERE rowid = old.id; END"
        )
        op.execute(
            "INSERT INTO article_search (rowid, title, subtitle, body, tags) "
            f"SELECT a.id, a.title, a.subtitle, a.body_text, {_TAGS} FROM articles a"
        )
        op.execute("INSERT INTO article_search (article_search) VALUES ('optimize')")
