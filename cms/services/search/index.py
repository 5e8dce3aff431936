"""The search index: its tables, the SQLite search keys, the PostgreSQL text-search
configurations, and keeping the index current on every write (see ``service`` for how each
database stores and searches it)."""

from __future__ import annotations

import functools
import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cms.database import in_param
from cms.extensions import db
from cms.models import Article, Tag, article_tags
from cms.services.visibility import listed_at, listed_condition

INDEX_TABLE = "article_search"
# PostgreSQL: article id -> the text its search snippets are cut from (:func:`pg_excerpt`).
EXCERPT_TABLE = "article_search_excerpts"
PG_EXCERPTS = sa.table(EXCERPT_TABLE, sa.column("article_id"), sa.column("excerpt"))
# The excerpt is at most this much of the start of the body, so a snippet's cost does not grow
# with the body's length.
EXCERPT_CHARS = 4000
SQLITE_DELETE_TRIGGER = "article_search_delete"
# SQLite: article id -> the FTS5 rowid (search key) of its row; see :func:`sqlite_key`.
KEY_TABLE = "article_search_keys"
# Database objects the search index adds outside the SQLAlchemy models (created by the
# migration): the model/migration drift check skips them.
SEARCH_INDEX_OBJECTS = frozenset(
    {
        INDEX_TABLE,
        # FTS5 shadow tables on SQLite
        f"{INDEX_TABLE}_config",
        f"{INDEX_TABLE}_content",
        f"{INDEX_TABLE}_data",
        f"{INDEX_TABLE}_docsize",
        f"{INDEX_TABLE}_idx",
        KEY_TABLE,
        # PostgreSQL
        "ix_article_search_document",
        "ix_article_search_listed",
        "ix_article_search_section_listed",
        "fk_article_search_article_id_articles",
        "pk_article_search",
        EXCERPT_TABLE,
        f"pk_{EXCERPT_TABLE}",
        f"fk_{EXCERPT_TABLE}_article_id_articles",
        SQLITE_DELETE_TRIGGER,
    }
)


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic ``include_object`` hook: leave the search index objects out of comparisons."""
    return name not in SEARCH_INDEX_OBJECTS


# ``sort=relevance`` ranks this many of the newest matches, so a broad query ranks a bounded

# Language (primary subtag) -> PostgreSQL text-search configuration; anything else: simple.
PG_CONFIGS = {"en": "english", "de": "german"}
PG_FALLBACK_CONFIG = "simple"

# --- SQLite search keys -------------------------------------------------------------------------

# A listed article's FTS5 rowid is (whole seconds of published_at) * 2**31 + id; an unlisted
# one's (draft, taken down, archived: never searchable) is -2**63 + id, below every listed key.
ID_SPAN = 2**31
UNLISTED_BASE = -(2**63)
MIN_SECONDS, MAX_SECONDS = -(2**31), 2**32 - 1  # 1901-12-13 .. 2106-02-07, clamped
LISTED_MIN_KEY = MIN_SECONDS * ID_SPAN


def key_seconds(moment: datetime) -> int:
    return min(max(math.floor(moment.timestamp()), MIN_SECONDS), MAX_SECONDS)


def sqlite_key(published_at: datetime, article_id: int) -> int:
    """The search key of a listed article: rowid order is publication order (to the second;
    within one second, by id)."""
    return key_seconds(published_at) * ID_SPAN + article_id


def sqlite_key_sql() -> sa.ColumnElement:
    """SQL over ``articles``: the article's search key (see :func:`sqlite_key`)."""
    seconds = sa.cast(sa.func.strftime("%s", Article.published_at), sa.Integer)
    clamped = sa.func.max(sa.func.min(seconds, MAX_SECONDS), MIN_SECONDS)
    return sa.case(
        (listed_condition(), clamped * ID_SPAN + Article.id),
        else_=sa.literal(UNLISTED_BASE, sa.BigInteger) + Article.id,
    )


def pg_config_of(language: sa.ColumnElement) -> sa.ColumnElement:
    """SQL: the text-search configuration for an article's language."""
    whens = [
        (sa.or_(language == code, language.like(f"{code}-%")), name)
        for code, name in PG_CONFIGS.items()
    ]
    return sa.case(*whens, else_=PG_FALLBACK_CONFIG)


# Each document carries one extra lexeme naming its configuration. The parser never yields a
# lexeme that starts with a space, so no text can produce or match these.
PG_MARK_PREFIX = " config "
PG_NEVER = " no document"


def pg_config_mark(cfg: str) -> str:
    return f"{PG_MARK_PREFIX}{cfg}"


def pg_configs() -> list[str]:
    return [*PG_CONFIGS.values(), PG_FALLBACK_CONFIG]


# --- keeping the index current ----------------------------------------------------------------

_PENDING = "cms.search.pending_articles"
_PENDING_IDS = "cms.search.pending_ids"
_PENDING_LISTING = "cms.search.pending_listing"  # articles whose listing alone changed


def index_article(article: Article) -> None:
    """(Re)index ``article`` at the next flush of its session, in the same transaction."""
    db.session.info.setdefault(_PENDING, set()).add(article)


def _tags_text(dialect: str) -> sa.ColumnElement:
    """SQL: the names of the article's tags, space-separated."""
    names = (
        sa.func.string_agg(Tag.name, " ")
        if dialect == "postgresql"
        else sa.func.group_concat(Tag.name, " ")
    )
    return sa.func.coalesce(
        sa.select(names)
        .select_from(article_tags)
        .join(Tag, Tag.id == article_tags.c.tag_id)
        .where(article_tags.c.article_id == Article.id)
        .scalar_subquery(),
        "",
    )


def _write_rows(connection: sa.Connection, ids: list[int] | None) -> None:
    """Write the index rows of the articles ``ids`` (``None``: all) from their stored text."""
    dialect = connection.dialect.name
    source = sa.select(Article.id).select_from(Article)
    if ids is not None:
        source = source.where(Article.id.in_(ids))
    if dialect == "sqlite":
        table = sa.table(
            INDEX_TABLE,
            sa.column("rowid"),
            sa.column("title"),
            sa.column("subtitle"),
            sa.column("body"),
            sa.column("tags"),
        )
        keys = sa.table(KEY_TABLE, sa.column("article_id"), sa.column("search_rowid"))
        # The old rows go by their old keys (published_at may have changed since).
        delete_rows, delete_keys = sa.delete(table), sa.delete(keys)
        if ids is not None:
            old = sa.select(keys.c.search_rowid).where(keys.c.article_id.in_(ids))
            delete_rows = delete_rows.where(table.c.rowid.in_(old.scalar_subquery()))
            delete_keys = delete_keys.where(keys.c.article_id.in_(ids))
        connection.execute(delete_rows)
        connection.execute(delete_keys)
        key = sqlite_key_sql()
        connection.execute(
            sa.insert(keys).from_select(["article_id", "search_rowid"], source.add_columns(key))
        )
        rows = sa.select(
            key, Article.title, Article.subtitle, Article.body_text, _tags_text(dialect)
        ).select_from(Article)
        if ids is not None:
            rows = rows.where(Article.id.in_(ids))
        connection.execute(
            sa.insert(table).from_select(["rowid", "title", "subtitle", "body", "tags"], rows)
        )
    elif dialect == "postgresql":
        statement = _pg_upsert(filtered=ids is not None)
        connection.execute(statement, {"ids": ids} if ids is not None else {})
    else:
        raise NotImplementedError(f"Search is not available on {dialect}.")


@functools.cache
def _pg_upsert(*, filtered: bool) -> sa.Insert:
    """PostgreSQL: the upsert of the index rows of the articles ``ids`` (``filtered``, a
    parameter) or of all articles, from their stored text, with their excerpts (one
    statement, its ``WITH`` upserting them: :func:`_pg_excerpt_upsert`); built once."""
    from sqlalchemy.dialects import postgresql

    table = sa.table(
        INDEX_TABLE,
        sa.column("article_id"),
        sa.column("config"),
        sa.column("document"),
        sa.column("listed_at"),
        sa.column("section_id"),
    )
    config_name = pg_config_of(Article.language)
    config = sa.cast(config_name, postgresql.REGCONFIG)
    mark = sa.func.array_to_tsvector(postgresql.array([sa.literal(PG_MARK_PREFIX) + config_name]))

    def weighted(text, weight: str):
        label = sa.literal_column(f"'{weight}'")  # a constant A-D, typed "char" by PG
        return sa.func.setweight(sa.func.to_tsvector(config, text), label)

    document = (
        weighted(Article.title, "A")
        .op("||")(weighted(Article.subtitle, "B"))
        .op("||")(weighted(_tags_text("postgresql"), "B"))
        .op("||")(weighted(Article.body_text, "D"))
        .op("||")(mark)
    )
    source = sa.select(Article.id).select_from(Article)
    if filtered:
        source = source.where(in_param("postgresql", Article.id, "ids"))
    insert = postgresql.insert(table).from_select(
        ["article_id", "config", "document", "listed_at", "section_id"],
        source.add_columns(config, document, listed_at(), Article.section_id),
    )
    insert = insert.add_cte(_pg_excerpt_upsert(filtered=filtered).cte("excerpts"))
    return insert.on_conflict_do_update(
        index_elements=["article_id"],
        set_={
            "config": insert.excluded.config,
            "document": insert.excluded.document,
            "listed_at": insert.excluded.listed_at,
            "section_id": insert.excluded.section_id,
        },
    )


def pg_excerpt() -> sa.ColumnElement:
    """SQL over ``articles``: the article's excerpt, the text its snippets are cut from (see
    ``snippets``): the first :data:`EXCERPT_CHARS` characters of the body (else the subtitle),
    every run of whitespace made one space, none at either end. Made when the article is
    indexed, so a search reads it as it is (the body itself is compressed in its row: reading
    the start of twenty of them was a quarter of a search's database time)."""
    source = sa.case(
        (Article.body_text != "", sa.func.substr(Article.body_text, 1, EXCERPT_CHARS)),
        else_=sa.func.coalesce(Article.subtitle, ""),
    )
    return sa.func.btrim(sa.func.regexp_replace(source, r"\s+", " ", "g"))


def _pg_excerpt_upsert(*, filtered: bool) -> sa.Insert:
    """PostgreSQL: the upsert of the excerpts of the articles ``ids`` (``filtered``, a
    parameter) or of all articles."""
    from sqlalchemy.dialects import postgresql

    source = sa.select(Article.id, pg_excerpt())
    if filtered:
        source = source.where(in_param("postgresql", Article.id, "ids"))
    insert = postgresql.insert(PG_EXCERPTS).from_select(["article_id", "excerpt"], source)
    return insert.on_conflict_do_update(
        index_elements=["article_id"], set_={"excerpt": insert.excluded.excerpt}
    )


SQLITE_DELETE_TRIGGER_SQL = (
    f"CREATE TRIGGER {SQLITE_DELETE_TRIGGER} AFTER DELETE ON articles BEGIN "
    f"DELETE FROM {INDEX_TABLE} WHERE rowid = "
    f"(SELECT search_rowid FROM {KEY_TABLE} WHERE article_id = old.id); "
    f"DELETE FROM {KEY_TABLE} WHERE article_id = old.id; END"
)


def rebuild_index(connection: sa.Connection | None = None) -> int:
    """Re-create every index row (and, on SQLite, the delete trigger); returns the count."""
    connection = connection or db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {SQLITE_DELETE_TRIGGER}")
        connection.exec_driver_sql(SQLITE_DELETE_TRIGGER_SQL)
    else:
        connection.execute(sa.text(f"DELETE FROM {INDEX_TABLE}"))
        connection.execute(sa.text(f"DELETE FROM {EXCERPT_TABLE}"))
    _write_rows(connection, None)
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"INSERT INTO {INDEX_TABLE}({INDEX_TABLE}) VALUES ('optimize')")
    return connection.scalar(sa.text(f"SELECT count(*) FROM {INDEX_TABLE}"))


def index_new(connection: sa.Connection, ids: list[int]) -> None:
    """Write the index rows of articles inserted in this transaction without the session
    hooks (a bulk import)."""
    _write_rows(connection, sorted(ids))


def listen(session_factory) -> None:
    """Keep the index current in every session of ``session_factory`` (``registry.install``)."""
    sa.event.listen(session_factory, "before_flush", _note_tag_changes)
    sa.event.listen(session_factory, "after_flush", _write_pending)
    sa.event.listen(session_factory, "after_soft_rollback", _forget_pending)


# Article attributes the index copies beyond its text: whether and when the article is listed
# (both databases), and its section (PostgreSQL).
_LISTING_KEYS = ("status", "published_at", "section", "section_id")
# Article attributes the indexed document is made of (with the names of its tags).
_TEXT_KEYS = ("title", "subtitle", "body_text", "language", "tags")


def _note_tag_changes(session: Session, flush_context, instances) -> None:
    """A renamed or deleted tag changes the indexed text of the articles carrying it; a
    change of status or ``published_at`` (publish, unpublish, schedule, take down, archive),
    by any path, changes the article's listing in the index."""
    listing = session.info.setdefault(_PENDING, set())
    listing.update(obj for obj in session.new if isinstance(obj, Article))
    for obj in session.dirty:
        if isinstance(obj, Article):
            attrs = sa.inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in _LISTING_KEYS):
                if any(attrs[name].history.has_changes() for name in _TEXT_KEYS):
                    listing.add(obj)
                else:
                    session.info.setdefault(_PENDING_LISTING, set()).add(obj)
    tag_ids = [
        tag.id
        for tag in session.dirty
        if isinstance(tag, Tag) and sa.inspect(tag).attrs.name.history.has_changes()
    ]
    tag_ids += [tag.id for tag in session.deleted if isinstance(tag, Tag)]
    if tag_ids:
        article_ids = session.scalars(
            sa.select(article_tags.c.article_id).where(article_tags.c.tag_id.in_(tag_ids))
        )
        session.info.setdefault(_PENDING_IDS, set()).update(article_ids)


def _write_pending(session: Session, flush_context) -> None:
    ids = session.info.pop(_PENDING_IDS, set()) | _live_ids(session.info.pop(_PENDING, set()))
    listing = _live_ids(session.info.pop(_PENDING_LISTING, set())) - ids
    connection = session.connection()
    if listing and connection.dialect.name == "postgresql":
        # Only whether and when the article is listed changed (a publish, say): its document
        # is the one stored, so only the listing is copied. A missing row is written whole.
        done = set(connection.scalars(_pg_listing_update(), {"ids": sorted(listing)}))
        listing -= done
    ids |= listing  # SQLite: the FTS5 row's key is made of published_at, so rewritten whole
    if ids:
        _write_rows(connection, sorted(ids))


def _live_ids(articles: set[Article]) -> set[int]:
    ids = set()
    for article in articles:
        state = sa.inspect(article)
        if article.id is not None and not (state.deleted or state.was_deleted or state.detached):
            ids.add(article.id)
    return ids


@functools.cache
def _pg_listing_update() -> sa.Update:
    """PostgreSQL: copy ``listed_at`` and the section of the articles ``ids`` (a parameter)
    onto their index rows, returning the ids of the rows updated; built once."""
    table = sa.table(
        INDEX_TABLE, sa.column("article_id"), sa.column("listed_at"), sa.column("section_id")
    )
    return (
        sa.update(table)
        .where(table.c.article_id == Article.id, in_param("postgresql", Article.id, "ids"))
        .values(listed_at=listed_at(), section_id=Article.section_id)
        .returning(table.c.article_id)
    )


def _forget_pending(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_IDS, None)
    session.info.pop(_PENDING_LISTING, None)
