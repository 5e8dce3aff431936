"""What the public read API serves. Every query starts from ``visibility.public_articles``."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, lazyload, load_only

from cms.clock import utcnow
from cms.errors import Gone, NotFound
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    Correction,
    Section,
    SlugRedirect,
    Source,
    StoredCard,
    Summary,
    Tag,
    article_tags,
)
from cms.models.types import UTCDateTime
from cms.pagination import Page, encode_cursor
from cms.services.public import compiled
from cms.services.public.loaders import CARD_RELATIONS
from cms.services.visibility import (
    is_public,
    link_condition,
    public_articles,
    public_status,
    takedown_of,
)

# What each public read loads: only the columns and relations its response shows, each
# relation in one query whatever the number of rows (tests/test_query_counts.py).
FULL = (*CARD_RELATIONS, joinedload(Article.summary))  # detail: card, body, summary
KEYS_ONLY = (  # related: what the neighbour and suggestion queries start from
    load_only(Article.id, Article.slug, Article.section_id, Article.published_at),
    lazyload("*"),
)


# --- cards read without ORM objects ----------------------------------------------------------
# A list page shows 20-100 cards with their section, tags, authors and sources: as ORM objects
# that is some 250 instances per page, which is where the time went. Cards are read as plain
# rows instead (one query for the articles, one per relation, whatever the page size).

_CARD_COLUMNS = (
    Article.id,
    Article.slug,
    Article.title,
    Article.subtitle,
    Article.language,
    Article.published_at,
    Article.first_published_at,
    Article.updated_at,
    Article.excerpt,
    Article.hero_image,
    Article.canonical_url,
    Article.word_count,
    Article.reading_time_minutes,
)
_CARD_NAMES = tuple(column.key for column in _CARD_COLUMNS)


class Ref(NamedTuple):
    slug: str
    name: str


class Card:
    """The attributes an article card shows (as ``ArticleCard`` reads them from an Article)."""

    __slots__ = (*_CARD_NAMES, "section", "tags", "authors", "sources")

    def __init__(self, row):
        for name, value in zip(_CARD_NAMES, row, strict=False):
            setattr(self, name, value)
        slug, name = row[_SECTION], row[_SECTION + 1]
        self.section = None if slug is None else Ref(slug, name)
        self.tags, self.authors, self.sources = [], [], []


_SECTION = len(_CARD_COLUMNS)
_SUMMARY_COLUMNS = (
    Summary.tldr,
    Summary.key_points,
    Summary.origin,
    Summary.source_revision,
    Summary.updated_at,
)
_DETAIL_COLUMNS = (
    Article.created_at,
    Article.section_id,
    Article.body,
    Article.body_html,
    Article.body_text,
    Summary.article_id,
    *_SUMMARY_COLUMNS,
    StoredCard.card,
)


class SummaryRow:
    """A summary as the public API shows it."""

    __slots__ = tuple(column.key for column in _SUMMARY_COLUMNS)
    reading_time_seconds = Summary.reading_time_seconds

    def __init__(self, values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


class ArticleCardView(Card):
    """A visible article with its body, summary, previous and next (the detail page)."""

    __slots__ = (
        "created_at",
        "section_id",
        "body",
        "body_html",
        "body_text",
        "summary",
        "card_json",
        "previous",
        "next",
        "has_corrections",
        "corrections",
    )

    def __init__(self, row):
        super().__init__(row)
        extra = row[_SECTION + 2 :]
        self.created_at, self.section_id, self.body, self.body_html, self.body_text = extra[:5]
        self.summary = None if extra[5] is None else SummaryRow(extra[6:11])
        self.card_json = extra[11]  # the stored card (cms.services.public.cards), if current
        self.previous, self.next = neighbours_of(extra[12:20])
        self.has_corrections = extra[20]  # read only when there are some
        self.corrections = []


class Neighbour(NamedTuple):
    """The previous or next article, as a page shows it."""

    id: int
    slug: str
    title: str
    published_at: datetime


def neighbours_of(values) -> tuple[Neighbour | None, Neighbour | None]:
    """Previous and next from the columns ``with_neighbours`` added to a row."""
    previous, following = values[:4], values[4:]
    return (
        None if previous[0] is None else Neighbour(*previous),
        None if following[0] is None else Neighbour(*following),
    )


def with_neighbours(
    query: sa.Select, now, *, in_section: bool = False, lateral: bool = False
) -> sa.Select:
    """``query`` (visible articles) with the columns of each one's previous and next visible
    article (in its section, ``in_section``), read in the same statement.

    ``lateral`` (PostgreSQL): each side is a ``LATERAL`` subquery of one index range scan
    from ``(published_at, id)``, the row-value comparison PostgreSQL takes as the index
    condition, which returns the neighbour's columns itself. Otherwise (SQLite, which walks
    the index from the newest article down to a row value), each side joins the article whose
    id ``_neighbour_id`` finds with two range scans."""
    if lateral:
        return _with_lateral_neighbours(query, now, in_section=in_section)
    previous, following = aliased(Article, name="previous"), aliased(Article, name="next")
    at = {"when": Article.published_at, "ident": Article.id, "now": now}
    if in_section:
        at["section_id"] = Article.section_id
    return (
        query.add_columns(
            *(getattr(previous, column.key) for column in _NEIGHBOUR_COLUMNS),
            *(getattr(following, column.key) for column in _NEIGHBOUR_COLUMNS),
        )
        .outerjoin_from(Article, previous, previous.id == _neighbour_id(before=True, **at))
        .outerjoin_from(Article, following, following.id == _neighbour_id(before=False, **at))
    )


def _with_lateral_neighbours(query: sa.Select, now, *, in_section: bool) -> sa.Select:
    sides = []
    for name, before in (("previous", True), ("next", False)):
        other = aliased(Article, name=f"{name}_article")
        at = sa.tuple_(other.published_at, other.id)
        own = sa.tuple_(Article.published_at, Article.id)
        conditions = [public_status(other.status), at < own if before else at > own]
        if not before:
            conditions.append(other.published_at <= now)
        if in_section:
            conditions.append(other.section_id == Article.section_id)
        if before:
            order = (other.published_at.desc(), other.id.desc())
        else:
            order = (other.published_at, other.id)
        sides.append(
            sa.select(*(getattr(other, column.key) for column in _NEIGHBOUR_COLUMNS))
            .where(*conditions)
            .order_by(*order)
            .limit(_ONE)
            .lateral(name)
        )
    previous, following = sides
    return (
        query.add_columns(*previous.c, *following.c)
        .outerjoin_from(Article, previous, sa.true())
        .outerjoin_from(Article, following, sa.true())
    )


def lateral_joins() -> bool:
    """Whether the database joins ``LATERAL`` subqueries and compares row values on an index
    (PostgreSQL; ``with_neighbours``, ``related.locate``)."""
    return db.engine.dialect.name == "postgresql"


def current_card(article=None) -> sa.ColumnElement[bool]:
    """Join condition: the article's stored card, if it is current (``public.cards``).
    ``article``: an alias of ``Article``, in a statement that reads two articles."""
    article = Article if article is None else article
    return sa.and_(
        StoredCard.article_id == article.id,
        StoredCard.article_version == article.version,
    )


def _with_section(query: sa.Select, *columns) -> sa.Select:
    return query.with_only_columns(
        *_CARD_COLUMNS, Section.slug, Section.name, *columns, maintain_column_froms=True
    ).outerjoin_from(Article, Section, Section.id == Article.section_id)


def read_cards(query: sa.Select, params: dict | None = None) -> list[Card]:
    """The cards of the articles ``query`` selects (its WHERE, ORDER BY and LIMIT are kept)."""
    cards = [Card(row) for row in db.session.execute(card_statement(query, _with_section), params)]
    return _with_relations(cards)


@functools.lru_cache(maxsize=32)
def card_statement(query: sa.Select, shape) -> sa.Select:
    """``shape(query)``, remembered for the statements built once (``_plain_list``)."""
    return shape(query)


# Built once: per request only the ids change (an expanding parameter). The three relations
# come back in one statement (one round trip), ordered as the ORM relationships order them.
_IDS = sa.bindparam("ids", expanding=True)
_tag_t, _author_t, _source_t = Tag.__table__, Author.__table__, Source.__table__
_link_a, _link_s = ArticleAuthor.__table__, ArticleSource.__table__
_NO_TEXT = sa.null().cast(sa.String)
_RELATIONS = sa.union_all(
    sa.select(
        sa.literal(0).label("relation"),
        article_tags.c.article_id,
        sa.literal(0).label("o1"),
        sa.literal(0).label("o2"),
        _tag_t.c.slug.label("o3"),
        _tag_t.c.slug,
        _tag_t.c.name,
        _NO_TEXT.label("url"),
        _NO_TEXT.label("kind"),
    )
    .join(_tag_t, _tag_t.c.id == article_tags.c.tag_id)
    .where(article_tags.c.article_id.in_(_IDS)),
    sa.select(
        sa.literal(1),
        _link_a.c.article_id,
        _link_a.c.position,
        _link_a.c.author_id,
        sa.literal(""),
        _author_t.c.slug,
        _author_t.c.name,
        _NO_TEXT,
        _NO_TEXT,
    )
    .join(_author_t, _author_t.c.id == _link_a.c.author_id)
    .where(_link_a.c.article_id.in_(_IDS)),
    sa.select(
        sa.literal(2),
        _link_s.c.article_id,
        _link_s.c.position,
        _link_s.c.source_id,
        sa.literal(""),
        _source_t.c.slug,
        _source_t.c.name,
        _source_t.c.url,
        _source_t.c.kind,
    )
    .join(_source_t, _source_t.c.id == _link_s.c.source_id)
    .where(_link_s.c.article_id.in_(_IDS)),
).order_by("relation", "article_id", "o1", "o2", "o3")


def _with_relations(cards: list[Card]) -> list[Card]:
    """Fill tags, authors and sources of all the cards with one query."""
    if not cards:
        return cards
    by_id = {card.id: card for card in cards}
    for row in db.session.execute(_RELATIONS, {"ids": list(by_id)}):
        card = by_id[row.article_id]
        (card.tags, card.authors, card.sources)[row.relation].append(row)
    return cards


def read_rows(statement: sa.Executable, params: dict | None = None) -> list:
    """The rows of a Core statement of the public reads (index and attribute access).

    On the connection a plain read answered before Flask borrowed (``compiled``: the statement
    compiled once, run on the driver's cursor); else on the session's connection, past the
    ORM's execution layer (~0.1-0.2 ms of CPU per statement). Either way they load no ORM
    objects and run in requests that change nothing, so there is nothing to flush first."""
    borrowed = compiled.borrowed()
    if borrowed is not None:
        rows = borrowed.rows(statement, params)
        if rows is not None:
            return rows
    return db.session.connection().execute(statement, params).all()


@contextmanager
def without_transaction():
    """Run the public reads inside without BEGIN and ROLLBACK (two round trips fewer).

    Each statement sees committed data, as it would inside a READ COMMITTED transaction. Only
    when the session has not begun yet (a public request); otherwise it is left as it is. The
    block must not write, and must finish with whatever it needs from ORM objects (they are
    expired when it ends). Under ``compiled.borrowed_connection`` the session is left alone:
    ``read_rows`` runs on the borrowed connection, already in autocommit.
    """
    if compiled.borrowed() is not None:
        yield
        return
    session = db.session()
    if session.in_transaction():
        yield
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        yield
    finally:
        session.rollback()  # nothing to roll back: gives the connection back to the pool


@dataclass
class Moved:
    """The slug asked for is a former slug; the article now lives at ``slug``."""

    slug: str


class ArticleView:
    """A public article with what its page shows beside it (summary, previous, next)."""

    def __init__(self, article: Article, *, previous=None, next=None):
        self._article = article
        self.previous = previous
        self.next = next

    def __getattr__(self, name):
        return getattr(self._article, name)


def _id_for(model, slug: str) -> int | None:
    return db.session.scalar(sa.select(model.id).where(model.slug == slug))


# Filters through a link table: filter name -> (taxonomy model, link table, link column).
LINK_FILTERS = {
    "tag": (Tag, article_tags, article_tags.c.tag_id),
    "author": (Author, ArticleAuthor.__table__, ArticleAuthor.__table__.c.author_id),
    "source": (Source, ArticleSource.__table__, ArticleSource.__table__.c.source_id),
}


def apply_filters(query: sa.Select, filters: dict) -> sa.Select | None:
    """Apply list filters; ``None`` when a filter names something that does not exist.

    On PostgreSQL a tag, author or source filter joins its link table (one row per article
    and entity) on ``visibility.link_condition``: the list is then read from the link index
    ``(entity, listed_at, article_id)`` in publication order, however rare the entity.
    """
    if "section" in filters:
        section_id = _id_for(Section, filters["section"])
        if section_id is None:
            return None
        query = query.where(Article.section_id == section_id)
    if "language" in filters:
        query = query.where(Article.language == filters["language"])
    if "published_after" in filters:
        query = query.where(Article.published_at > filters["published_after"])
    if "published_before" in filters:
        query = query.where(Article.published_at < filters["published_before"])
    links = []
    for name, (model, link, link_target) in LINK_FILTERS.items():
        if name not in filters:
            continue
        target_id = _id_for(model, filters[name])
        if target_id is None:
            return None
        links.append((link, link_target == target_id))
    ordered_links = db.session.get_bind().dialect.name == "postgresql"
    for link, matches in links:  # after every bound on published_at is in the query
        if ordered_links:
            query = query.join_from(Article, link, sa.and_(matches, link_condition(link, query)))
        else:
            # SQLite cannot take the order of articles.published_at from the link index through
            # the equality: it would read and sort every listed article of the entity (70 ms
            # for a source on 13% of 100k articles). Newest articles first, probing the link.
            query = query.where(sa.exists().where(link.c.article_id == Article.id, matches))
    return query


def list_articles(
    filters: dict,
    *,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
    now: datetime | None = None,
    reader=read_cards,
) -> Page:
    """Newest first, keyset-paginated on ``(published_at, id)``.

    ``reader`` turns the query into items with ``id`` and ``published_at``: ``read_cards``
    (card objects) or ``documents.read_cards`` (the stored JSON of each card).
    """
    now = now or utcnow()
    # Visible before the cursor = visible as of the cursor's time: a single upper bound on
    # published_at, where the index scan starts (given two bounds, or only the row-value
    # comparison, SQLite walks the index from the newest article down to the cursor).
    bound = min(now, cursor[0]) if cursor else now
    if not filters and not count:  # the front page and its next pages: a statement built once
        params = {"now": bound, "limit": limit + 1}
        if cursor:
            params["cursor_at"], params["cursor_id"] = cursor
        return _page(reader(_plain_list(bool(cursor)), params), limit)
    query = apply_filters(public_articles(bound), filters)
    if query is None:
        return Page(items=[], limit=limit, total=0 if count else None)
    total = None
    if count:
        counted = query if not cursor else apply_filters(public_articles(now), filters)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(counted.subquery()))
    if cursor:
        query = query.where(sa.tuple_(Article.published_at, Article.id) < sa.tuple_(*cursor))
    query = query.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit + 1)
    return _page(reader(query), limit, total)


def summaries_of(article_ids: list[int]) -> dict[int, Summary]:
    """The summaries of articles already read from a visible list (``include=summary``), in
    one query whatever the page size."""
    if not article_ids:
        return {}
    rows = db.session.scalars(sa.select(Summary).where(Summary.article_id.in_(article_ids)))
    return {summary.article_id: summary for summary in rows}


def _page(rows: list, limit: int, total: int | None = None) -> Page:
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].published_at, rows[-1].id])
    return Page(items=rows, limit=limit, next_cursor=next_cursor, total=total)


@functools.cache
def _plain_list(after_cursor: bool) -> sa.Select:
    """The unfiltered list with parameters ``now``, ``limit`` and (after a cursor)
    ``cursor_at`` and ``cursor_id``."""
    query = public_articles(sa.bindparam("now", type_=UTCDateTime))
    if after_cursor:
        cursor = (
            sa.bindparam("cursor_at", type_=UTCDateTime),
            sa.bindparam("cursor_id", type_=sa.Integer),
        )
        query = query.where(sa.tuple_(Article.published_at, Article.id) < sa.tuple_(*cursor))
    return query.order_by(Article.published_at.desc(), Article.id.desc()).limit(
        sa.bindparam("limit", type_=sa.Integer)
    )


def read_article(slug: str, now: datetime | None = None) -> ArticleCardView | Moved:
    """What the detail page shows (read as rows, like the cards); else Moved or NotFound."""
    now = now or utcnow()
    rows = read_rows(_detail_statement(lateral_joins()), {"now": now, "slug": slug})
    if not rows:
        return moved_or_missing(slug, now)
    view = ArticleCardView(rows[0])
    if view.card_json is None:  # no current stored card: its tags, authors and sources
        _with_relations([view])
    if view.has_corrections:
        view.corrections = visible_corrections([view.id]).get(view.id, [])
    return view


@functools.cache
def _detail_statement(lateral: bool) -> sa.Select:
    """The detail row of the visible article ``slug`` at ``now`` (parameters), built once:
    the article, its section, summary and stored card, its previous and next articles, and
    whether it has visible corrections, in one statement."""
    now = sa.bindparam("now", type_=UTCDateTime)
    query = public_articles(now).where(Article.slug == sa.bindparam("slug", type_=sa.String))
    has_corrections = sa.exists().where(
        Correction.article_id == Article.id, Correction.hidden_at.is_(None)
    )
    detail = (
        _with_section(query, *_DETAIL_COLUMNS)
        .outerjoin_from(Article, Summary, Summary.article_id == Article.id)
        .outerjoin_from(Article, StoredCard, current_card())
    )
    return with_neighbours(detail, now, lateral=lateral).add_columns(
        has_corrections.label("has_corrections")
    )


def read_summary(slug: str, now: datetime | None = None) -> tuple[int, SummaryRow | None] | Moved:
    """The id of the visible article ``slug`` and its summary (``None`` when it has none, read
    as a row like the detail's); else Moved or NotFound."""
    now = now or utcnow()
    rows = read_rows(_summary_statement(), {"now": now, "slug": slug})
    if not rows:
        return moved_or_missing(slug, now)
    article_id, summarized, *values = rows[0]
    return article_id, None if summarized is None else SummaryRow(values)


@functools.cache
def _summary_statement() -> sa.Select:
    """The summary row of the visible article ``slug`` at ``now`` (parameters), built once."""
    now = sa.bindparam("now", type_=UTCDateTime)
    query = public_articles(now).where(Article.slug == sa.bindparam("slug", type_=sa.String))
    return query.with_only_columns(
        Article.id, Summary.article_id, *_SUMMARY_COLUMNS, maintain_column_froms=True
    ).outerjoin_from(Article, Summary, Summary.article_id == Article.id)


def moved_or_missing(slug: str, now: datetime) -> Moved:
    redirect = db.session.get(SlugRedirect, slug)
    if redirect is not None:
        target = db.session.get(Article, redirect.article_id)
        if target is not None and is_public(target, now):
            return Moved(target.slug)
    takedown = takedown_of(slug)
    if takedown is not None:
        raise Gone(
            f"This article was taken down ({takedown.reason}).",
            reason=takedown.reason,
        )
    raise NotFound("There is no published article with this slug.")


def find_article(slug: str, now: datetime | None = None, *, load=FULL) -> Article | Moved:
    """The visible article with ``slug``, or where a former slug moved to; else NotFound.

    ``load``: loader options, e.g. ``KEYS_ONLY`` when only the article's keys are needed.
    """
    now = now or utcnow()
    query = public_articles(now).where(Article.slug == slug).options(*load)
    article = db.session.scalars(query).first()
    if article is not None:
        return article
    return moved_or_missing(slug, now)


def neighbours(article, *, scope: str = "site", now: datetime | None = None):
    """``(previous, next)``: the visible articles just before and after in publication order.

    Each side is one statement of two index range scans (same ``published_at`` with a lower or
    higher id; then strictly earlier or later), so its cost does not depend on where the
    article sits in the table. A row-value comparison ``(published_at, id) < (x, y)`` is not
    used: SQLite walks the index from the newest article down to it.
    """
    now = now or utcnow()
    when = article.published_at
    if when is None:
        return None, None
    params = {"when": when, "ident": article.id, "now": now}
    if scope == "section":
        if article.section_id is None:
            return None, None
        params["section_id"] = article.section_id
    # Built once per shape; per request only the parameters change.
    statement = _neighbours_statement(scope == "section", future=when > now)
    rows = {row.side: row for row in read_rows(statement, params)}
    return rows.get(0), rows.get(1)


@functools.cache
def _neighbours_statement(in_section: bool, *, future: bool) -> sa.CompoundSelect:
    """Previous and next in one round trip (``side`` 0 and 1); parameters ``when``, ``ident``,
    ``now`` and, ``in_section``, ``section_id``. ``future``: the article itself is not visible
    yet (a scheduled article in preview), so nothing at its time or after it counts."""
    at = {
        "when": sa.bindparam("when", type_=UTCDateTime),
        "ident": sa.bindparam("ident", type_=sa.Integer),
        "now": sa.bindparam("now", type_=UTCDateTime),
        "section_id": sa.bindparam("section_id", type_=sa.Integer) if in_section else None,
        "future": future,
    }
    return sa.union_all(
        *(
            sa.select(sa.literal(side).label("side"), *_NEIGHBOUR_COLUMNS).where(
                Article.id == _neighbour_id(before=before, **at)
            )
            for side, before in ((0, True), (1, False))
        )
    )


_NEIGHBOUR_COLUMNS = (Article.id, Article.slug, Article.title, Article.published_at)


# ``LIMIT 1`` written into the SQL: bound as a parameter, PostgreSQL plans a prepared
# statement's generic plan for an unknown limit (10% of the rows), finds it dearer than a
# custom plan and plans every execution anew (~0.7 ms of database CPU per detail).
_ONE = sa.literal_column("1", sa.Integer)


def _neighbour_id(*, before: bool, when, ident, now, section_id=None, future: bool = False):
    """SQL: the id of the visible article just before (or after) the one published at
    ``when`` with id ``ident`` (parameters, or the columns of an outer query's article).

    The best of two index range scans: the same ``published_at`` with a lower (higher) id,
    else the nearest strictly earlier (later) one; so its cost does not depend on where the
    article sits in the table. A row-value comparison ``(published_at, id) < (x, y)`` is not
    used: SQLite walks the index from the newest article down to it."""
    other = aliased(Article)
    visible = [public_status(other.status)]
    if section_id is not None:
        visible.append(other.section_id == section_id)
    if before:
        same = [other.published_at == when, other.id < ident]
        beyond = [other.published_at < when, *([other.published_at <= now] if future else [])]
        order = (other.published_at.desc(), other.id.desc())
    else:
        same = [other.published_at == when, other.id > ident]
        beyond = [other.published_at > when, other.published_at <= now]
        order = (other.published_at, other.id)
    branches = [beyond] if future else [same, beyond]
    firsts = [
        sa.select(other.id)
        .where(*visible, *conditions)
        .order_by(*order)
        .limit(_ONE)
        .correlate(Article)
        .scalar_subquery()
        for conditions in branches
    ]
    return sa.func.coalesce(*firsts) if len(firsts) > 1 else firsts[0]


def article_page(article: Article, now: datetime | None = None) -> ArticleView:
    previous, following = neighbours(article, now=now)
    return ArticleView(article, previous=previous, next=following)


# --- corrections ------------------------------------------------------------------------------


class CorrectionView(NamedTuple):
    """A correction as readers see it."""

    id: int
    article_id: int
    kind: str
    text: str
    block_index: int | None
    block_source: str | None
    created_at: datetime


CORRECTION_COLUMNS = tuple(getattr(Correction, name) for name in CorrectionView._fields)


def visible_corrections(article_ids: list[int]) -> dict[int, list[CorrectionView]]:
    """The corrections readers see on these articles (not hidden), oldest first, by article.

    The articles' own visibility is the caller's: they come from a public query."""
    out: dict[int, list[CorrectionView]] = {}
    if not article_ids:
        return out
    rows = db.session.execute(
        sa.select(*CORRECTION_COLUMNS)
        .where(Correction.article_id.in_(article_ids), Correction.hidden_at.is_(None))
        .order_by(Correction.id)
    )
    for row in rows:
        out.setdefault(row.article_id, []).append(CorrectionView(*row))
    return out
