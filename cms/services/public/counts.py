"""Keep the copies of visibility that make taxonomy counts and filtered lists cheap.

Two copies, both defined in ``cms.services.visibility``:

* ``listed_count`` of each section, tag, author and source: its articles that are public now or
  scheduled for later. Public counts subtract the few still to come (``taxonomies.list_taxonomy``),
  so an article is counted exactly when it becomes visible, with no job.
* ``listed_at`` of each row of ``article_tags``, ``article_authors`` and ``article_sources``:
  the article's ``published_at`` while it is listed, else NULL.

Both are kept by session hooks, in the transaction that changes an article, whatever made the
change (services, CLI, seed, tests): before each flush the listed memberships of each changed
article are read from the database, after it again; ``listed_at`` is copied anew onto the
article's link rows at once, and the difference is added to the counts (``+1`` / ``-1`` per
entry; additions commute, so concurrent writers stay exact, and the article's version check
serialises writers of the same article). The additions of a transaction are summed and made
when it commits (``before_commit``), so the count rows -- shared by every writer of a section
or tag -- stay locked only for the end of the commit, not for the rest of the request (a
publish's revision, cards, suggestions); within a savepoint they are made at once, so that
rolling it back undoes them. A deleted tag or author takes its count and its link rows with it;
sections and sources in use cannot be deleted. Bulk ``UPDATE``/``DELETE`` statements on
articles or links bypass the hooks: after one, call :func:`recount`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from cms.database import in_chunks, in_param
from cms.models import Article, ArticleAuthor, ArticleSource, Author, Section, Source, Tag
from cms.models import article_tags as _tags_link
from cms.services.visibility import PUBLIC_STATUSES, listed_at, listed_at_of, listed_condition

# kind -> (taxonomy table, link table or None for sections, the link's taxonomy column)
TAXONOMIES = (
    (Section.__table__, None, Article.section_id),
    (Tag.__table__, _tags_link, _tags_link.c.tag_id),
    (Author.__table__, ArticleAuthor.__table__, ArticleAuthor.__table__.c.author_id),
    (Source.__table__, ArticleSource.__table__, ArticleSource.__table__.c.source_id),
)
LINK_TABLES = tuple(link for _, link, _ in TAXONOMIES if link is not None)
# Article attributes whose change can change what the article is counted in.
_ARTICLE_KEYS = ("status", "published_at", "section", "section_id", "tags")
_ARTICLE_LINKS = ("author_links", "source_links")
_LINK_KEYS = {
    ArticleAuthor: ("article_id", "author_id"),
    ArticleSource: ("article_id", "source_id"),
}
_CHUNK = 500

_PENDING = "cms.taxonomy_counts.pending"
_DEFERRED = "cms.taxonomy_counts.deferred"  # summed count changes, made at commit
_COMMITTING = "cms.taxonomy_counts.committing"  # flushes from now on add at once


def _memberships(connection: sa.Connection, ids: Iterable[int]) -> tuple[Counter, set[int]]:
    """``(kind, entity id)`` of every listed article among ``ids`` with multiplicity, and the
    ids of the listed articles."""
    found: Counter = Counter()
    listed: set[int] = set()
    ids = sorted(ids)
    statement = _memberships_statement(connection.dialect.name)
    for chunk in in_chunks(connection, ids, _CHUNK):
        for kind, entity_id, article_id in connection.execute(statement, {"ids": chunk}):
            if kind == 0:
                listed.add(article_id)
            if entity_id is not None:
                found[kind, entity_id] += 1
    return found, listed


@functools.cache
def _memberships_statement(dialect_name: str) -> sa.CompoundSelect:
    """:func:`_memberships`' statement, built once; parameter ``ids``."""
    parts = []
    for kind, (_, link, column) in enumerate(TAXONOMIES):
        part = sa.select(sa.literal(kind).label("kind"), column.label("entity_id"), Article.id)
        if link is None:  # every listed article, with its section or none
            part = part.where(in_param(dialect_name, Article.id, "ids"))
        else:
            part = part.join_from(link, Article, Article.id == link.c.article_id).where(
                in_param(dialect_name, link.c.article_id, "ids")
            )
        parts.append(part.where(listed_condition()))
    return sa.union_all(*parts)


def _add_to_counts(connection: sa.Connection, delta: Counter) -> None:
    """``listed_count += n`` for each ``(kind, id): n``; rows locked in a fixed order."""
    changed = []
    for kind, (table, _, _) in enumerate(TAXONOMIES):
        changes = {eid: n for (k, eid), n in delta.items() if k == kind and n}
        if changes:
            changed.append((table, changes))
    if not changed:
        return
    if connection.dialect.name == "postgresql":
        # A bare UPDATE ... IN locks rows in scan order: two writers touching the same
        # tags in different orders would deadlock. Kinds are always taken in one order too.
        lock, add = _add_statements_pg(tuple(table.name for table, _ in changed))
        params = {}
        for i, (_, changes) in enumerate(changed):
            ids = sorted(changes)
            params[f"ids{i}"] = ids
            params[f"ns{i}"] = [changes[eid] for eid in ids]
        connection.execute(lock, {key: value for key, value in params.items() if key[0] == "i"})
        connection.execute(add, params)
        return
    for table, changes in changed:
        added = table.c.listed_count + sa.case(changes, value=table.c.id, else_=0)
        connection.execute(
            sa.update(table).where(table.c.id.in_(sorted(changes))).values(listed_count=added)
        )


@functools.cache
def _add_statements_pg(tables: tuple[str, ...]) -> tuple[sa.TextClause, sa.TextClause]:
    """``listed_count += n`` in each of ``tables`` for the ids and additions bound as arrays
    (``ids0``, ``ns0`` for the first table, ...), built once per tuple of tables: the rows
    locked, table after table and in id order within each, by one statement; then all updated
    by a second. FOR NO KEY UPDATE, the lock the UPDATE takes: FOR UPDATE would also block the
    foreign-key checks of every article and link row inserted meanwhile that names the
    section, tag, author or source.

    The lock of each table is a ``MATERIALIZED`` CTE whose condition counts the rows of the
    previous table's CTE: an uncorrelated subquery, evaluated once before the first row of
    its own table is locked, so the previous table's rows are all locked first. The outer
    query reads every CTE in the same order.

    Two statements, not one: with the lock in a CTE of the UPDATE, the UPDATE reads the rows
    as of its statement's start, so a row another writer committed while this one waited for
    its lock is re-checked under the lock, and concurrent writers of the same row deadlocked
    (seen under 8 publishing editors; ``bench/count_lock_bench.py``: 18 deadlocks in 15 s of 8
    threads adding to 3 rows, none with two statements). The UPDATE that follows the lock
    starts after it and finds the rows it holds; its data-modifying ``WITH`` clauses (one per
    table, run in no defined order) wait for no lock, since this transaction holds them all."""
    locks, counts = [], []
    for i, table in enumerate(tables):
        after = f" AND (SELECT count(*) FROM locked{i - 1}) >= 0" if i else ""
        locks.append(
            f"locked{i} AS MATERIALIZED (SELECT id FROM {table} WHERE id = ANY(:ids{i}){after} "
            "ORDER BY id FOR NO KEY UPDATE)"
        )
        counts.append(f"(SELECT count(*) FROM locked{i})")
    lock = sa.text(f"WITH {', '.join(locks)} SELECT {', '.join(counts)}")
    updates = [
        f"UPDATE {table} SET listed_count = {table}.listed_count + added.n "
        f"FROM unnest(CAST(:ids{i} AS integer[]), CAST(:ns{i} AS integer[])) AS added (id, n) "
        f"WHERE {table}.id = added.id"
        for i, table in enumerate(tables)
    ]
    *first, last = updates
    ctes = ", ".join(f"added{i} AS ({update})" for i, update in enumerate(first))
    add = sa.text(f"WITH {ctes} {last}" if first else last)
    arrays = [sa.bindparam(f"ids{i}", type_=ARRAY(sa.Integer)) for i in range(len(tables))]
    lock = lock.bindparams(*arrays)
    add = add.bindparams(
        *arrays, *(sa.bindparam(f"ns{i}", type_=ARRAY(sa.Integer)) for i in range(len(tables)))
    )
    return lock, add


def _copy_listed_at(connection: sa.Connection, ids: list[int]) -> None:
    """Set ``listed_at`` of the link rows of articles ``ids`` from the articles."""
    if not ids:
        return
    for statement in _copy_statements(connection.dialect.name):
        for chunk in in_chunks(connection, ids, _CHUNK):
            connection.execute(statement, {"ids": chunk})


@functools.cache
def _copy_statements(dialect_name: str) -> tuple[sa.Update, ...]:
    """:func:`_copy_listed_at`'s statements, built once; parameter ``ids``. On PostgreSQL one
    statement: the other tables' updates are data-modifying ``WITH`` clauses of the last (each
    table's rows are updated once; all read the articles as the statement starts)."""
    statements = []
    for link in LINK_TABLES:
        value = sa.select(listed_at()).where(Article.id == link.c.article_id).scalar_subquery()
        statements.append(
            sa.update(link)
            .where(in_param(dialect_name, link.c.article_id, "ids"))
            .values(listed_at=value)
        )
    if dialect_name == "postgresql":
        *first, last = statements
        for i, statement in enumerate(first):
            last = last.add_cte(statement.cte(f"copied_{i}"))
        return (last,)
    return tuple(statements)


def _unlisted_before(article: Article) -> bool:
    """Whether this flush changes the status of ``article`` from one that is in no count (a
    draft being published, say): then its row as the flush finds it is in no count either,
    and its memberships before the flush need no reading. The status as loaded is the row's:
    the flush's UPDATE checks the article's version (``version_id_col``), and fails if another
    transaction changed the row since."""
    deleted = sa.inspect(article).attrs.status.history.deleted
    return bool(deleted) and deleted[0] not in PUBLIC_STATUSES and article.id is not None


def _changed(obj, names: Iterable[str]) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def listen(session_factory) -> None:
    """Keep counts and link copies current in every session of ``session_factory``
    (``registry.install``)."""
    sa.event.listen(session_factory, "before_flush", _before)
    sa.event.listen(session_factory, "after_flush", _after)
    sa.event.listen(session_factory, "before_commit", _add_deferred)
    sa.event.listen(session_factory, "after_soft_rollback", _forget)
    sa.event.listen(session_factory, "after_transaction_end", _end)


def _before(session: Session, flush_context, instances) -> None:
    """Note the articles this flush may move between counts, with their listed memberships."""
    existing: set[int] = set()
    new: list[Article] = []
    for obj in session.new:
        if isinstance(obj, Article):
            new.append(obj)
        elif type(obj) in _LINK_KEYS and obj.article_id is not None:
            existing.add(obj.article_id)
    for obj in session.dirty:
        if isinstance(obj, Article):
            if _unlisted_before(obj):
                new.append(obj)
            elif _changed(obj, _ARTICLE_KEYS + _ARTICLE_LINKS):
                existing.add(obj.id)
        elif type(obj) in _LINK_KEYS and _changed(obj, _LINK_KEYS[type(obj)]):
            history = sa.inspect(obj).attrs.article_id.history
            existing.update(i for i in (*history.deleted, obj.article_id) if i is not None)
    for obj in session.deleted:
        if isinstance(obj, Article):
            existing.add(obj.id)
        elif type(obj) in _LINK_KEYS and obj.article_id is not None:
            existing.add(obj.article_id)
    existing.discard(None)
    if not existing and not new:
        session.info.pop(_PENDING, None)
        return
    before = _memberships(session.connection(), existing) if existing else (Counter(), set())
    session.info[_PENDING] = (existing, new, before)


def _after(session: Session, flush_context) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    existing, new, (before, listed_before) = pending
    # A new article flushed unlisted (a draft) is in no count and its links hold NULL: nothing
    # to read of it.
    ids = existing | {
        article.id
        for article in new
        if article.id is not None
        and listed_at_of(article.status, article.published_at) is not None
    }
    connection = session.connection()
    after, listed_after = _memberships(connection, ids) if ids else (Counter(), set())
    delta = Counter(after)
    delta.subtract(before)
    if session.in_nested_transaction() or session.info.get(_COMMITTING):
        _add_to_counts(connection, delta)
    else:
        session.info.setdefault(_DEFERRED, Counter()).update(delta)
    # Links of an article unlisted before and after hold NULL already (new ones too).
    _copy_listed_at(connection, sorted(listed_before | listed_after))


def _add_deferred(session: Session) -> None:
    """Make the count changes of the transaction, in one go (rows locked in a fixed order)."""
    if session.in_nested_transaction():
        return  # a savepoint: the enclosing commit adds
    session.flush()
    session.info[_COMMITTING] = True
    delta = session.info.pop(_DEFERRED, None)
    if delta:
        _add_to_counts(session.connection(), delta)


def _forget(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)


def _end(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed (changes made) or rolled back (dropped)
        session.info.pop(_DEFERRED, None)
        session.info.pop(_COMMITTING, None)


def count_new(connection: sa.Connection, articles: Iterable) -> None:
    """Add articles inserted in this transaction without the session hooks (a bulk import,
    whose link rows carry their ``listed_at`` already) to the counts of their section, tags,
    authors and sources, each where it is listed. ``articles`` have ``status``,
    ``published_at``, ``section``, ``tags``, ``authors`` and ``sources``."""
    delta: Counter = Counter()
    for article in articles:
        if listed_at_of(article.status, article.published_at) is None:
            continue
        if article.section is not None:
            delta[0, article.section.id] += 1
        for kind, entries in ((1, article.tags), (2, article.authors), (3, article.sources)):
            for entry in entries:
                delta[kind, entry.id] += 1
    _add_to_counts(connection, delta)


def recount(connection: sa.Connection, *, links: bool = True) -> None:
    """Recompute every ``listed_count`` (and, unless ``links`` is false, every ``listed_at``)
    from the articles, set-based."""
    for link in LINK_TABLES if links else ():
        value = sa.select(Article.published_at).where(Article.id == link.c.article_id)
        connection.execute(
            sa.update(link)
            .where(link.c.listed_at.is_not(None))
            .where(link.c.article_id.not_in(sa.select(Article.id).where(listed_condition())))
            .values(listed_at=None)
        )
        connection.execute(
            sa.update(link)
            .where(link.c.article_id.in_(sa.select(Article.id).where(listed_condition())))
            .values(listed_at=value.scalar_subquery())
        )
    for table, link, column in TAXONOMIES:
        if link is None:
            counted = sa.select(sa.func.count()).where(column == table.c.id, listed_condition())
        else:
            counted = (
                sa.select(sa.func.count())
                .select_from(link)
                .where(column == table.c.id, link.c.listed_at.is_not(None))
            )
        connection.execute(sa.update(table).values(listed_count=counted.scalar_subquery()))
