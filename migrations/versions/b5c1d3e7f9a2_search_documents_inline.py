"""search documents kept inline: article_search.document is stored in the table's own pages

PostgreSQL: ``ALTER COLUMN document SET STORAGE MAIN`` and ``toast_tuple_target = 8160`` on
``article_search``, so a document (a few kilobytes for a news article) stays in its row instead
of being moved out of line to the TOAST table: a search tests hundreds of documents one by one
and ranks hundreds more, and reading each from TOAST (an index lookup and two or three chunks,
then decompression) cost about twice as much as the test itself. The existing documents are
rewritten to move them inline. Only documents too long for a page still go out of line.
SQLite: nothing to do.

Revision ID: b5c1d3e7f9a2
Revises: a7e2c4f6b8d1
Create Date: 2026-12-04 21:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b5c1d3e7f9a2"
down_revision = "a7e2c4f6b8d1"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE article_search SET (toast_tuple_target = 8160)")
    op.execute("ALTER TABLE article_search ALTER COLUMN document SET STORAGE MAIN")
    # A new value (the concatenation) is stored under the new settings; an unchanged one
    # would keep its place in the TOAST table.
    op.execute("UPDATE article_search SET document = document || ''::tsvector")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE article_search ALTER COLUMN document SET STORAGE EXTENDED")
    op.execute("ALTER TABLE article_search RESET (toast_tuple_target)")
    op.execute("UPDATE article_search SET document = document || ''::tsvector")
