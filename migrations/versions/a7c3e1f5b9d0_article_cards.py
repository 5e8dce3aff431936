"""article cards: the stored card table is named for what it holds (article_documents ->
article_cards), its rows copied

Revision ID: a7c3e1f5b9d0
Revises: f1c3a5e7b9d2
Create Date: 2026-12-04 18:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e1f5b9d0"
down_revision = "f1c3a5e7b9d2"
branch_labels = None
depends_on = None

COLUMNS = "article_id, article_version, card"


def _create(name: str) -> None:
    op.create_table(
        name,
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("article_version", sa.Integer(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f(f"fk_{name}_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f(f"pk_{name}")),
    )


def _move(old: str, new: str) -> None:
    # A new table rather than a rename, so that its constraints carry its name on SQLite too.
    _create(new)
    op.execute(f"INSERT INTO {new} ({COLUMNS}) SELECT {COLUMNS} FROM {old}")
    op.drop_table(old)


def upgrade():
    _move("article_documents", "article_cards")


def downgrade():
    _move("article_cards", "article_documents")
