"""Full-text search of articles on the database's own engine: running a query.

The index and its upkeep live in ``index.py``, the query language in ``query.py``.

One interface, two backends chosen by the SQL dialect:

* **PostgreSQL**: table ``article_search(article_id, config, document tsvector, listed_at)``
  with a GIN index on the document and a btree on ``(listed_at, article_id)``. The document is
  weighted (title A, subtitle and tags B, body D) and stemmed with the text-search
  configuration of the article's language (``english``, ``german``, else ``simple``), plus one
  lexeme naming that configuration, so "this query, stemmed the document's own way" is a single
  tsquery the GIN index answers alone. ``listed_at`` is the article's ``published_at`` while its
  status is public, else NULL (:func:`visibility.listed_at`): the newest matches are read from
  this table alone, by a plan chosen from the share of matches among the newest listed
  articles (:meth:`_PostgreSQL.newest_ids`: walking ``listed_at`` backwards testing each
  document, a ``BitmapAnd`` of the GIN index and a range of the ``listed_at`` btree, or every
  match from the GIN index). Ranking is ``ts_rank_cd`` over the window's index rows alone; the
  ranked page's articles are then checked to be visible (:meth:`_PostgreSQL.ranked`) and read
  by the same statement. Snippets are cut in Python (``snippets``) from each hit's excerpt
  (table ``article_search_excerpts``, written with the index row, :func:`index.pg_excerpt`:
  the first :data:`index.EXCERPT_CHARS` characters of the body, whitespace made single
  spaces), marking the words whose Snowball stem is one of the query's lexemes, so their cost
  does not grow with the body (``ts_headline`` parsed and stemmed its whole input on every
  call: most of the database's CPU per search).
* **SQLite**: FTS5 table ``article_search(title, subtitle, body, tags)`` whose rowid is the
  article's *search key* (:func:`index.sqlite_key`: whole seconds of ``published_at`` * 2**31 + id
  while listed, else below every listed key), so rowid order is publication order and FTS5
  hands out the newest matches first, stopping at the window (``ORDER BY rowid DESC LIMIT``);
  table ``article_search_keys`` maps article id -> key. Tokenizer ``porter unicode61
  remove_diacritics 2``. Ranking is ``bm25`` with column weights; snippets come from
  ``snippet()``, in one pass over the page's range of keys. FTS5 ships no German stemmer:
  German text is matched by exact word (case and diacritics folded) plus English suffix
  rules, so inflected German forms may not find each other on SQLite.

The table keeps its own copy of the text (not content-less: ``snippet()`` needs the text; not
external-content: its deletes need the *old* values, gone once the article row changed).

Keeping it current (``index.py``): :func:`index.index_article` (called by the article service
whenever it writes an article) queues the article; the queued rows are written at the next
flush, in the same transaction. Tag renames and deletions re-index the articles carrying the
tag. Deleting an article deletes its index row in the database itself (PostgreSQL: foreign key
``ON DELETE CASCADE``; SQLite: trigger ``article_search_delete``). A change of an article's
status or ``published_at`` (publish, unpublish, schedule, archive, takedown and its
revocation), made through any session, re-indexes it in the same flush (the index copies when
it is listed; on PostgreSQL, when its text and tags did not change too, only that copy and its
section are updated, and the stored document is kept). Every article is indexed whatever its
status. A scheduled article is listed with its future time, so it becomes searchable on time
without re-indexing; the articles of a window are checked against
:func:`visibility.public_condition` too, so a write that bypassed the session (a bulk
``UPDATE``) can hide a hit until ``flask rebuild search`` but never show a draft. ``flask
rebuild search`` rebuilds everything.

Query language (the same on both databases): words are all required and stemmed (the
articles with only some of them follow those with all of them: :func:`search`); very common words
(:data:`STOP_WORDS`) are ignored outside quoted phrases;
``"a phrase"``; ``word*`` is a prefix (at least 3 letters; it matches the *stemmed* forms, so
``autom*`` finds "automation" but ``automati*`` does not); ``a OR b``; ``-word`` or
``-"a phrase"`` excludes. Every other character is a separator: user input is never passed to
the engine's own query syntax.

Hits are served as the articles' stored cards (``public.cards``, as list pages are) with
their score and snippet added.

Ranking and paging: ``sort=relevance`` takes the :data:`RANK_WINDOW` newest visible matches
(found through the index, never ranked) and orders them by ``(score desc, published_at desc, id
desc)``; the cursor carries that triple. Ranking reads each ranked document's index entry, so
the window keeps a query matching a third of the archive as cheap as a rare one.
``sort=newest`` orders every match by ``(published_at desc, id desc)`` and scores only the
page (on SQLite, matches published within the same second are ordered by id). Paging never
repeats or skips a hit while the index is unchanged; a change between two page requests (a new
article shifts bm25 statistics, an edit changes a score) can move a hit across the page
boundary.
"""

from __future__ import annotations

import functools
import html
import math
import re
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY

from cms.clock import utcnow
from cms.extensions import db
from cms.models import Article, Section, StoredCard
from cms.pagination import Page, encode_cursor
from cms.services.public import compiled
from cms.services.public.cards import CardRow, complete, read_cards
from cms.services.public.reading import LINK_FILTERS, apply_filters, current_card
from cms.services.search.index import (
    ID_SPAN,
    INDEX_TABLE,
    LISTED_MIN_KEY,
    MAX_SECONDS,
    MIN_SECONDS,
    PG_EXCERPTS,
    PG_NEVER,
    key_seconds,
    pg_config_mark,
    pg_configs,
    sqlite_key,
)
from cms.services.search.query import Atom, InvalidSearch, ParsedQuery, QueryError, parse_query
from cms.services.search.snippets import Snippets
from cms.services.visibility import public_condition

# set (ranking reads each candidate's index entry) instead of every match.
RANK_WINDOW = 300
SORTS = ("relevance", "newest")
# First element of a ``sort=newest`` cursor, in place of a score.
NEWEST_CURSOR = "newest"
# ...before which a cursor among the articles with some of the words (``search``) has this.
SOME_CURSOR = "some:"

# A lexeme in a tsquery's text: 'word' with '' for a quote, after ! when it is excluded,
# followed by :* when it is a prefix.
_LEXEME = re.compile(r"(!?)'((?:[^']|'')*)'(:\*)?")
SNIPPET_TOKENS = 32
# PostgreSQL, finding the newest matches (``_PostgreSQL.newest_ids``): the newest SAMPLE_ROWS
# listed articles are tested one by one; a share of matches of at least WALK_SHARE goes on
# that way, a smaller one reads a range of the newest articles (up to LAST_SLICE) through the
# indexes, a rare one every match.
SAMPLE_ROWS = 250
WALK_SHARE = 0.2
# ...and before that, for a ranked page, the newest WALK_ROWS are walked to fill the window
# (``_PostgreSQL.walked``): a query matching half of them or more needs no other statement.
WALK_ROWS = 2 * RANK_WINDOW
LAST_SLICE = 32_000
# Column weights. PostgreSQL: weight labels per field (D, C, B, A = 0.1, 0.2, 0.4, 1.0).
# SQLite: bm25 multipliers per FTS5 column (title, subtitle, body, tags).
BM25_WEIGHTS = (10.0, 4.0, 1.0, 4.0)

# Marks around hits, chosen from Unicode's private use area so no text contains them; the
# snippet is HTML-escaped and then the marks become <mark>…</mark>.
_OPEN, _CLOSE = "\ue000", "\ue001"
_ELLIPSIS = "…"
_MARKS = re.compile(f"([{_OPEN}{_CLOSE}])")
_SPACES = re.compile(r"\s+")


# --- snippets ---------------------------------------------------------------------------------


def render_snippet(raw: str | None) -> str:
    """Escape the text and turn the engine's marks into balanced ``<mark>`` elements."""
    out: list[str] = []
    open_ = False
    # (Escaping leaves the marks as they are: the text is escaped in one call.)
    for part in _MARKS.split(html.escape(raw or "", quote=False)):
        if part == _OPEN:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == _CLOSE:
            if open_:
                out.append("</mark>")
                open_ = False
        elif part:
            out.append(part)
    if open_:
        out.append("</mark>")
    return _SPACES.sub(" ", "".join(out)).strip()


# --- results ----------------------------------------------------------------------------------


@dataclass
class Hit:
    """An article found by a search: its card (stored JSON, see ``public.cards``), score and
    highlighted snippet."""

    card: CardRow
    score: float
    snippet: str
    # Whether the article has every word of the query, or only some of them (see ``search``).
    all_words: bool = True

    @property
    def id(self) -> int:
        return self.card.id


@dataclass
class _Ranked:
    id: int
    score: float
    # UTC: aware, or naive as PostgreSQL's ranked pages read it (``cursor_time``).
    published_at: datetime
    key: int  # the article's row in the index: SQLite its search key, PostgreSQL its id
    # PostgreSQL's ranked page reads the hit with its rank (``_pg_ranked_page``): the
    # document's configuration (never NULL there), its excerpt and its stored card.
    config: str | None = None
    text: str | None = None
    card: str | None = None

    def cursor_time(self) -> datetime:
        """``published_at`` as a page's cursor carries it (aware)."""
        at = self.published_at
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# --- backends ---------------------------------------------------------------------------------


class _SQLite:
    """FTS5."""

    @staticmethod
    def _atom(atom: Atom) -> str:
        phrase = '"' + " ".join(atom.words).replace('"', '""') + '"'
        return phrase + ("*" if atom.prefix else "")

    @classmethod
    def _any(cls, atoms: Iterable[Atom]) -> str:
        parts = [cls._atom(a) for a in atoms]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    @classmethod
    def match(cls, query: ParsedQuery) -> str:
        """The FTS5 query: every word quoted, so no input is read as FTS5 syntax."""
        expression = " AND ".join(cls._any(group) for group in query.required)
        if query.not_all:
            every = " AND ".join(cls._any(group) for group in query.not_all)
            expression = f"({expression}) NOT ({every})"
        if query.excluded:
            expression = f"({expression}) NOT {cls._any(query.excluded)}"
        return expression

    def __init__(self, query: ParsedQuery):
        self.match_text = self.match(query)
        self.table = sa.table(INDEX_TABLE, sa.column("rowid"), sa.column("body"))
        self.matches = sa.literal_column(INDEX_TABLE).op("MATCH")(
            sa.bindparam("fts_query", self.match_text)
        )
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        self.score = sa.cast(-sa.literal_column(f"bm25({INDEX_TABLE}, {weights})"), sa.Float)
        self.newest_first = (self.table.c.rowid.desc(),)

    def matched(self, now: datetime) -> sa.Select:
        """Matches listed by ``now`` (to the second), read from the index newest first: FTS5
        walks its doclists backwards (``ORDER BY rowid DESC``), each match joined to its
        article by primary key, and a ``LIMIT`` stops the walk."""
        key = self.table.c.rowid
        return (
            sa.select(Article.id, Article.published_at, key.label("key"), self.score.label("score"))
            .select_from(self.table)
            .join(Article, Article.id == key.op("&")(ID_SPAN - 1))
            .where(self.matches, key >= LISTED_MIN_KEY, key < (key_seconds(now) + 1) * ID_SPAN)
        )

    def via_link(self, now: datetime, filters: dict) -> tuple[sa.Select, dict] | None:
        """With a tag, author or source filter: that entity's listed articles, newest first
        from its link index ``(entity, listed_at, article_id)``, each looked up in FTS5 by its
        key (computed from the link's ``listed_at``), and the filters left to apply; ``None``
        without such a filter. Walking every match of the words to probe the link instead
        costs as many probes as the words have matches."""
        for name, (model, link, column) in LINK_FILTERS.items():
            if name not in filters:
                continue
            target = db.session.scalar(sa.select(model.id).where(model.slug == filters[name]))
            if target is None:
                return None  # apply_filters finds the same: no hits
            seconds = sa.cast(sa.func.strftime("%s", link.c.listed_at), sa.Integer)
            key = sa.func.max(sa.func.min(seconds, MAX_SECONDS), MIN_SECONDS) * ID_SPAN + (
                link.c.article_id
            )
            query = (
                sa.select(
                    Article.id,
                    Article.published_at,
                    self.table.c.rowid.label("key"),
                    self.score.label("score"),
                )
                .select_from(link)
                .join(self.table, self.table.c.rowid == key)
                .join(Article, Article.id == link.c.article_id)
                .where(column == target, link.c.listed_at <= now, self.matches)
            )
            return query, {k: v for k, v in filters.items() if k != name}
        return None

    def before(self, published_at: datetime, article_id: int) -> sa.ColumnElement[bool]:
        """After the ``sort=newest`` cursor ``(published_at, id)`` in :attr:`newest_first`."""
        return self.table.c.rowid < sqlite_key(published_at, article_id)

    @staticmethod
    def newest_order(row: _Ranked):
        return row.key

    @staticmethod
    def execute(statement: sa.Executable) -> list:
        return db.session.execute(statement).all()

    def ranked_page(
        self, window: sa.Subquery, now: datetime, cursor: list | None, limit: int
    ) -> sa.Select:
        return _ranked_page(self.scored(window, now).subquery("ranked"), cursor, limit)

    @staticmethod
    def walked(now: datetime, filters: dict, cursor: list | None, limit: int) -> None:
        """FTS5 ranks every match: no window is walked (see ``_PostgreSQL.walked``)."""
        return None

    def ranked(self, page: sa.Select) -> list[_Ranked]:
        return [_Ranked(*row) for row in self.execute(page)]

    @staticmethod
    def index_only(now: datetime, filters: dict) -> None:
        """The walk of :meth:`matched` joins each match to its article anyway and stops at
        the ``LIMIT``: nothing to gain from reading the index alone."""
        return None

    def window(
        self, matched: sa.Select, size: int, now: datetime, filters: dict, index_only: bool
    ) -> sa.Subquery:
        """The ``size`` newest of the ``matched`` rows: the walk of :meth:`matched`."""
        return matched.order_by(*self.newest_first).limit(size).subquery("window")

    def scored(self, candidates: sa.Subquery, now: datetime) -> sa.Select:
        """``(id, score, published_at, key)`` of the candidate rows (visible ones, see
        :meth:`matched`). bm25 is computed by the walk itself, for the rows it returns only: a
        second pass joining the candidates to the FTS5 table would let SQLite scan every match
        and score each."""
        return sa.select(
            candidates.c.id, candidates.c.score, candidates.c.published_at, candidates.c.key
        )

    def hits(self, rows: list[_Ranked]) -> list[Hit]:
        """The page's hits: the articles' cards (``cards.read_cards``) and snippets."""
        ids = [row.id for row in rows]
        found = {
            card.id: card for card in read_cards(sa.select(Article).where(Article.id.in_(ids)))
        }
        snippets = self.snippets(rows)
        return [
            Hit(found[row.id], row.score, render_snippet(snippets.get(row.id)))
            for row in rows
            if row.id in found
        ]

    def snippets(self, rows: list[_Ranked]) -> dict[int, str]:
        def snip(column: int) -> str:
            return (
                f"snippet({INDEX_TABLE}, {column}, '{_OPEN}', '{_CLOSE}', '{_ELLIPSIS}', "
                f"{SNIPPET_TOKENS})"
            )

        text = sa.literal_column(
            f"CASE WHEN {INDEX_TABLE}.body != '' THEN {snip(2)} ELSE {snip(1)} END"
        )
        ids = {row.key: row.id for row in rows}
        rowid = self.table.c.rowid
        # One pass over the keys' range: given ``rowid IN (...)`` SQLite would run the MATCH
        # once per key, and a prefix query merges every matching term's doclist each time.
        # (``+rowid``: the list is checked on each row of the range, not handed to FTS5.)
        found = db.session.execute(
            sa.select(rowid, text)
            .select_from(self.table)
            .where(
                self.matches,
                rowid.between(min(ids), max(ids)),
                sa.literal_column(f"+{INDEX_TABLE}.rowid").in_(list(ids)),
            )
        )
        return {ids[key]: snippet for key, snippet in found}


# PostgreSQL: the index table, and the parts of its statements that are the same for every
# query. The query itself comes as bound parameters (its tsquery texts, see
# ``_PostgreSQL.params``), so each statement is built and compiled once per shape.
_PG_TABLE = sa.table(
    INDEX_TABLE,
    sa.column("article_id"),
    sa.column("config"),
    sa.column("document"),
    sa.column("listed_at", Article.published_at.type),
    sa.column("section_id"),
)
_PG_NEWEST_FIRST = (_PG_TABLE.c.listed_at.desc(), _PG_TABLE.c.article_id.desc())


def _tsquery_param(name: str) -> sa.ColumnElement:
    """A tsquery parameter sent as its text: ``CAST($n AS tsquery)`` of a parameter of no
    type makes PostgreSQL read it as a tsquery once, when it is bound; cast from ``varchar``,
    a prepared statement's plan parses the text again for every row it is used on."""
    return sa.cast(sa.bindparam(name, type_=TSQUERY), TSQUERY)


def _per_config(config: sa.ColumnElement, values: dict) -> sa.ColumnElement:
    """SQL: ``values[cfg]`` for the configuration ``cfg`` that ``config`` names."""
    return sa.case(
        *((config == sa.literal_column(f"'{cfg}'::regconfig"), v) for cfg, v in values.items())
    )


# The query stemmed each configuration's way AND that configuration's mark (see
# :func:`pg_config_mark`): a document only meets the query stemmed its own way.
_PG_MATCH_QUERY = _tsquery_param("tsquery_match")
_PG_MATCHES = _PG_TABLE.c.document.op("@@")(_PG_MATCH_QUERY)
# For scans of the GIN index: the query stemmed any of the ways, which the index answers from
# the posting lists of the query's words alone, and the exact match checked on each row found
# (``ts_match_vq`` is ``@@`` written so that the planner does not hand it to the index). With
# the marks in the index condition, the index would read every document's mark (the English
# one is on most of them).
_PG_INDEX_MATCHES = sa.and_(
    _PG_TABLE.c.document.op("@@")(_tsquery_param("tsquery_any")),
    sa.func.ts_match_vq(_PG_TABLE.c.document, _PG_MATCH_QUERY),
)


def _pg_score(document: sa.ColumnElement, config: sa.ColumnElement) -> sa.ColumnElement:
    """SQL: the rank of ``document`` (of the configuration ``config``) for the query stemmed
    its configuration's way."""
    own_query = _per_config(config, {cfg: _tsquery_param(f"tsquery_{cfg}") for cfg in pg_configs()})
    return sa.cast(sa.func.ts_rank_cd(document, own_query, 1), sa.Float)


_PG_SCORE = _pg_score(_PG_TABLE.c.document, _PG_TABLE.c.config)
# The index-only statements' filters (``_PostgreSQL.index_only``), by name in ``params``.
_PG_INDEX_FILTERS = ("section", "published_after", "published_before")
# The tsquery texts of each query already seen (its stemming depends on the words and the
# server's dictionaries only): a search of a known query sends no statement to make them.
_PG_QUERY_TEXTS: dict[tuple, tuple[str, str, dict[str, str]]] = {}
_PG_QUERY_TEXTS_MAX = 4096
# The share of the newest listed articles each query (with its filters) matched when last
# measured in this process (``_PostgreSQL.newest_ids``'s sample, or ``walked`` falling short):
# a query that matched at least WALKED_SHARE of them tries ``walked`` first. The share only
# chooses the way; the window is the same either way.
_PG_SHARES: dict[tuple, float] = {}
WALKED_SHARE = 0.6


# The statements built once (``functools.cache``) that ``_PostgreSQL.execute`` is given.
_PG_BUILT_ONCE: set[sa.Select] = set()
# The ranked pages that check the visibility of their rows only, and each one's statement
# that checks every ranked article's (``_PostgreSQL.ranked``).
_PG_CHECKS: dict[sa.Select, sa.Select] = {}

# A hit's stored card as its UTF-8 bytes, which the page's JSON takes as they are: read as
# text, psycopg decodes it and the hit's dumper encodes it again, ~1.5 µs for a card of
# 1.5 KB with a character beyond ASCII (an ellipsis, a dash, an umlaut). Its statements are
# read in the binary format (``_rows``), where the bytes come as stored, not as hex text.
_PG_CARD = sa.func.convert_to(StoredCard.card, sa.literal_column("'UTF8'"), type_=sa.LargeBinary)

_INDEX_NOW = sa.bindparam("index_now", type_=Article.published_at.type)
_SECTION_ID = sa.select(Section.id).where(Section.slug == sa.bindparam("section_slug"))


@functools.cache
def _pg_listing(shape: tuple[str, ...], match: bool) -> sa.Select:
    """Listed articles (matching the query when ``match``) from the index table alone, with
    the filters named in ``shape`` (``_PostgreSQL.index_only``)."""
    table, listed = _PG_TABLE, _PG_TABLE.c.listed_at
    query = sa.select(
        table.c.article_id.label("id"),
        listed.label("published_at"),
        table.c.article_id.label("key"),
    ).where(listed <= _INDEX_NOW)
    if match:
        query = query.where(_PG_INDEX_MATCHES)
    if "section" in shape:
        query = query.where(table.c.section_id == sa.bindparam("index_section", type_=sa.Integer))
    if "published_after" in shape:
        query = query.where(listed > sa.bindparam("index_after", type_=listed.type))
    if "published_before" in shape:
        query = query.where(listed < sa.bindparam("index_before", type_=listed.type))
    return query


@functools.cache
def _pg_walk(shape: tuple[str, ...]) -> sa.Select:
    """Matches among the listed articles ``walk_skip``+1 .. ``walk_skip``+``walk_rows``, newest
    first, tested one by one (a subquery with LIMIT: the GIN index is not used); at most
    ``walk_count``."""
    table = _PG_TABLE
    newest_rows = (
        _pg_listing(shape, False)
        .with_only_columns(table.c.article_id, table.c.listed_at, table.c.document)
        .order_by(*_PG_NEWEST_FIRST)
        .offset(sa.bindparam("walk_skip", type_=sa.Integer))
        .limit(sa.bindparam("walk_rows", type_=sa.Integer))
        .subquery("newest")
    )
    return (
        sa.select(newest_rows.c.article_id)
        .where(newest_rows.c.document.op("@@")(_PG_MATCH_QUERY))
        .order_by(newest_rows.c.listed_at.desc(), newest_rows.c.article_id.desc())
        .limit(sa.bindparam("walk_count", type_=sa.Integer))
    )


@functools.cache
def _pg_bound(shape: tuple[str, ...]) -> sa.Select:
    """``listed_at`` of the listed article ``bound_offset`` + 1 from the newest."""
    return (
        _pg_listing(shape, False)
        .with_only_columns(_PG_TABLE.c.listed_at)
        .order_by(*_PG_NEWEST_FIRST)
        .offset(sa.bindparam("bound_offset", type_=sa.Integer))
        .limit(1)
    )


@functools.cache
def _pg_newest(shape: tuple[str, ...], bounded: bool) -> sa.Select:
    """The ids of the ``newest_count`` newest matches (listed at ``bound`` or later)."""
    query = _pg_listing(shape, True)
    if bounded:
        query = query.where(
            _PG_TABLE.c.listed_at >= sa.bindparam("bound", type_=Article.published_at.type)
        )
    return (
        query.with_only_columns(_PG_TABLE.c.article_id)
        .order_by(*_PG_NEWEST_FIRST)
        .limit(sa.bindparam("newest_count", type_=sa.Integer))
    )


def _ids_param(name: str) -> sa.ColumnElement:
    """An ``integer[]`` parameter sent as its text (see :func:`_ids_text`)."""
    return sa.cast(sa.bindparam(name, type_=sa.String), ARRAY(sa.Integer))


def _ids_text(ids: list[int]) -> str:
    """``ids`` as the text of a PostgreSQL array: psycopg adapts a list element by element in
    Python (~3 µs each; a window holds 300)."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


def _ranked_page(ranked: sa.Subquery, cursor: list | None, limit) -> sa.Select:
    """``limit`` of the ``ranked`` rows ``(id, score, published_at, key)``, best first, after
    ``cursor`` (``[score, published_at, id]``) if any. The cursor's values and ``limit`` may
    be bound parameters (for a statement built once)."""
    page = sa.select(ranked)
    if cursor:
        score, published_at, article_id = cursor
        if not isinstance(score, sa.BindParameter):
            score = sa.literal(float(score), sa.Float)
            published_at = sa.literal(published_at, Article.published_at.type)
            article_id = sa.literal(article_id, sa.Integer)
        page = page.where(
            sa.tuple_(ranked.c.score, ranked.c.published_at, ranked.c.id)
            < sa.tuple_(score, published_at, article_id)
        )
    return page.order_by(
        ranked.c.score.desc(), ranked.c.published_at.desc(), ranked.c.id.desc()
    ).limit(limit)


def _pg_page_with_hits(ranked: sa.Subquery, after_cursor: bool, *more: str) -> sa.Select:
    """:func:`_ranked_page` of the ``ranked`` rows ``(id, score, published_at, key, config,
    *more)`` (parameters ``rank_now``, ``after_score``, ``after_published_at``, ``after_id``,
    ``page_rows``), each row with what its hit needs (:class:`_Ranked`: the document's
    configuration, its excerpt and its stored card, ``cards.read_cards``'s join),
    read for the page's rows only, then whether its article is visible, then ``more``."""
    now = sa.bindparam("rank_now", type_=Article.published_at.type)
    cursor = None
    if after_cursor:
        cursor = [
            sa.bindparam("after_score", type_=sa.Float),
            sa.bindparam("after_published_at", type_=Article.published_at.type),
            sa.bindparam("after_id", type_=sa.Integer),
        ]
    page = _ranked_page(ranked, cursor, sa.bindparam("page_rows", type_=sa.Integer)).subquery(
        "page"
    )
    return (
        sa.select(
            page.c.id,
            page.c.score,
            # Read as the naive UTC time stored: made aware for the next page's cursor only
            # (``_Ranked``), not for every row (~0.9 µs each).
            sa.type_coerce(page.c.published_at, sa.DateTime()),
            page.c.key,
            sa.cast(page.c.config, sa.Text),
            PG_EXCERPTS.c.excerpt,
            _PG_CARD,
            public_condition(now).label("visible"),
            *(page.c[name] for name in more),
        )
        .select_from(page)
        .join(Article, Article.id == page.c.id)
        .outerjoin(PG_EXCERPTS, PG_EXCERPTS.c.article_id == page.c.id)
        .outerjoin(StoredCard, current_card())
        .order_by(page.c.score.desc(), page.c.published_at.desc(), page.c.id.desc())
    )


@functools.cache
def _pg_ranked_page(after_cursor: bool, checked: bool) -> sa.Select:
    """:func:`_pg_page_with_hits` of ``window_ids``, built once: one statement per ranked
    page. ``checked``: of the visible articles among them; else of all of them, each row
    saying whether its article is visible (``_PostgreSQL.ranked``)."""
    key = _PG_TABLE.c.article_id
    ranked = sa.select(
        key.label("id"),
        _PG_SCORE.label("score"),
        _PG_TABLE.c.listed_at.label("published_at"),
        key.label("key"),
        _PG_TABLE.c.config.label("config"),
    ).where(key == sa.any_(_ids_param("window_ids")))
    if checked:
        now = sa.bindparam("rank_now", type_=Article.published_at.type)
        ranked = ranked.join(Article, Article.id == key).where(public_condition(now))
    return _pg_page_with_hits(ranked.subquery("ranked"), after_cursor)


@functools.cache
def _pg_walked_page(shape: tuple[str, ...], after_cursor: bool) -> sa.Select:
    """:func:`_pg_page_with_hits` of the window of the ``window_rows`` newest matches among the
    newest ``walk_rows`` listed articles (the filters named in ``shape``, as
    ``_PostgreSQL.index_only`` sets them), each tested as it is read and ranked as it is
    taken: one statement finds, ranks and reads a page. Each row ends with the number of
    matches the window holds (``found``)."""
    table = _PG_TABLE
    newest = (
        _pg_listing(shape, False)
        .with_only_columns(table.c.article_id, table.c.listed_at, table.c.config, table.c.document)
        .order_by(*_PG_NEWEST_FIRST)
        # ``LIMIT (SELECT n)``, not ``LIMIT n``: a limit the planner cannot read makes it plan
        # for the first tenth of the rows, as the walk stops once the window is full. Told that
        # all the rows of a small table are wanted, it sorts them all instead (3 to 4 times the
        # cost at 600 articles).
        .limit(sa.select(sa.bindparam("walk_rows", type_=sa.Integer)).scalar_subquery())
        .subquery("newest")
    )
    window = (
        sa.select(newest)
        .where(newest.c.document.op("@@")(_PG_MATCH_QUERY))
        .order_by(newest.c.listed_at.desc(), newest.c.article_id.desc())
        .limit(sa.bindparam("window_rows", type_=sa.Integer))
        .subquery("window")
    )
    scored = (
        sa.select(
            window.c.article_id.label("id"),
            _pg_score(window.c.document, window.c.config).label("score"),
            window.c.listed_at.label("published_at"),
            window.c.article_id.label("key"),
            window.c.config.label("config"),
        )
        # ``OFFSET 0`` keeps the documents out of the count's window function: PostgreSQL
        # evaluates expressions after a window function, so without it the window's 300
        # documents are copied into the count's row store to be ranked on the way out (a
        # third of the statement's time at 600 articles).
        .offset(sa.literal_column("0"))
        .subquery("scored")
    )
    ranked = sa.select(scored, sa.func.count().over().label("found")).subquery("ranked")
    return _pg_page_with_hits(ranked, after_cursor, "found")


@functools.cache
def _pg_hits() -> sa.Select:
    """The hits ``hit_ids`` as :class:`_Ranked` reads them with their rank: the document's
    configuration, the excerpt and the stored card (``cards.read_cards``'s join)."""
    return (
        sa.select(
            Article.id,
            sa.cast(_PG_TABLE.c.config, sa.Text),
            PG_EXCERPTS.c.excerpt,
            _PG_CARD,
        )
        .select_from(_PG_TABLE)
        .join(Article, Article.id == _PG_TABLE.c.article_id)
        .outerjoin(PG_EXCERPTS, PG_EXCERPTS.c.article_id == _PG_TABLE.c.article_id)
        .outerjoin(StoredCard, current_card())
        .where(Article.id == sa.any_(_ids_param("hit_ids")))
    )


@functools.lru_cache(maxsize=_PG_QUERY_TEXTS_MAX)
def _snippet_maker(query_texts: tuple[tuple[str, str], ...]) -> Snippets:
    """The snippet maker of a query stemmed as ``query_texts`` (configuration, tsquery text):
    the words each configuration stems it to, with their ``:*`` prefix flag, exclusions left
    out."""
    return Snippets(
        {
            cfg: sorted(
                {(w.replace("''", "'"), p) for neg, w, p in _LEXEME.findall(text) if not neg}
            )
            for cfg, text in query_texts
        }
    )


def _keep(table: dict, key, value):
    """``value`` kept as ``table[key]`` (a table of this process about queries: emptied when
    it holds :data:`_PG_QUERY_TEXTS_MAX` entries)."""
    if key not in table and len(table) >= _PG_QUERY_TEXTS_MAX:
        table.clear()
    table[key] = value
    return value


def _rows(
    statement: sa.Select,
    params: dict,
    *,
    scalars: bool = False,
    prepare: bool = False,
    binary: bool = False,
    named: bool = True,
) -> list:
    """The rows of a statement built once, compiled once: on the connection a read answered
    before Flask borrowed (``compiled.borrowed_connection``, in autocommit), else on the
    session's (``compiled.rows_on``). Not prepared unless ``prepare`` (see
    ``_PostgreSQL.execute``); ``binary`` for those reading :data:`_PG_CARD`; ``named=False``
    for rows read by position only."""
    options = {"scalars": scalars, "prepare": prepare, "binary": binary, "named": named}
    borrowed = compiled.borrowed()
    if borrowed is not None:
        rows = borrowed.rows(statement, params, **options)
        if rows is not None:
            return rows
    return compiled.rows_on(db.session.connection(), statement, params, **options)


@contextmanager
def _not_prepared(connection: sa.Connection):
    """Statements run on ``connection`` inside are not prepared by psycopg (each planned for
    its values, see ``_PostgreSQL.execute``), without a transaction to hold ``SET LOCAL
    plan_cache_mode``."""
    driver = connection.connection.driver_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


class _PostgreSQL:
    """tsvector, GIN, ts_rank_cd, ts_headline."""

    table = _PG_TABLE
    newest_first = _PG_NEWEST_FIRST
    matches = _PG_MATCHES

    def __init__(self, query: ParsedQuery):
        key = (query.required, query.excluded, query.not_all)
        texts = _PG_QUERY_TEXTS.get(key)
        if texts is None:
            texts = _keep(_PG_QUERY_TEXTS, key, self._stem(query))
        match_text, any_text, self.query_texts = texts
        # The values of this search's bound parameters, for every statement it runs.
        self.params = {
            "tsquery_match": match_text,
            "tsquery_any": any_text,
            **{f"tsquery_{cfg}": text for cfg, text in self.query_texts.items()},
        }
        self._section_ids: dict[str, int | None] = {}
        self._shape: tuple[str, ...] = ()

    @classmethod
    def _stem(cls, query: ParsedQuery) -> tuple[str, str, dict[str, str]]:
        """The texts of the tsqueries (made by one statement): the exact match (for each
        configuration, the query stemmed its way and the configuration's mark, see
        :func:`pg_config_mark`: without the mark the GIN index would have to read the row),
        the query stemmed any of the ways, and the query stemmed by each configuration. The
        search statements then carry them as parameters (a tsquery's text reads back as the
        same tsquery). The last two leave out :attr:`ParsedQuery.not_all`: the GIN index
        finds candidates by the words searched for, ranking and snippets weigh and mark
        them."""
        queries = {cfg: cls.tsquery(query, cfg) for cfg in pg_configs()}
        match_query = cls._any_config([cls._own_config(cfg, tsq) for cfg, tsq in queries.items()])
        if query.not_all:
            queries = {cfg: cls.tsquery(query.ranked(), cfg) for cfg in pg_configs()}
        any_way = cls._any_config(list(queries.values()))
        texts = db.session.execute(
            sa.select(*(sa.cast(q, sa.Text) for q in (match_query, any_way, *queries.values())))
        ).one()
        return texts[0], texts[1], dict(zip(queries, texts[2:], strict=True))

    def execute(self, statement: sa.Executable, *, prepare: bool = False) -> list:
        """The rows of one of this search's statements (Core, on the session's connection;
        one built once runs compiled once, :func:`_rows`).

        Each is planned for its values: psycopg prepares a statement after five runs, and
        PostgreSQL may then choose a generic plan that cannot see how common the searched words
        are (a walk or a bitmap scan differ a hundredfold). ``prepare``: the statement is
        prepared at once instead, its plan kept for the next runs (when it does not depend on
        the words: :meth:`walked`'s, whose planning cost a third of its database time)."""
        if statement in _PG_BUILT_ONCE:
            return _rows(statement, self.params, prepare=prepare, binary=True, named=False)
        connection = db.session.connection()
        with _not_prepared(connection):
            return connection.execute(statement, self.params).all()

    @staticmethod
    def _own_config(cfg: str, tsq: sa.ColumnElement) -> sa.ColumnElement:
        """``tsq`` for documents of configuration ``cfg`` only; nothing when stemming left it
        empty (all stop words of ``cfg``)."""
        mark = sa.literal_column(f"'''{pg_config_mark(cfg)}'''::tsquery")
        never = sa.literal_column(f"'''{PG_NEVER}'''::tsquery")
        return sa.func.tsquery_and(tsq, sa.case((sa.func.numnode(tsq) > 0, mark), else_=never))

    @staticmethod
    def _any_config(parts: list[sa.ColumnElement]) -> sa.ColumnElement:
        expression = parts[0]
        for part in parts[1:]:
            expression = sa.func.tsquery_or(expression, part)
        return expression

    @staticmethod
    def _atom(atom: Atom, cfg: str) -> sa.ColumnElement:
        regconfig = sa.literal_column(f"'{cfg}'::regconfig")
        words = list(atom.words)
        last = words.pop() if atom.prefix else None
        expression = None
        if len(words) > 1:
            expression = sa.func.phraseto_tsquery(regconfig, " ".join(words))
        elif words:
            expression = sa.func.plainto_tsquery(regconfig, words[0])
        if last:
            # ``last`` holds letters and digits only (see _WORD): the literal is safe.
            prefix = sa.func.to_tsquery(regconfig, f"'{last}':*")
            expression = (
                prefix if expression is None else sa.func.tsquery_phrase(expression, prefix)
            )
        return expression

    @classmethod
    def _combine(cls, function, atoms: Iterable[Atom], cfg: str) -> sa.ColumnElement:
        expression = None
        for atom in atoms:
            part = cls._atom(atom, cfg)
            expression = part if expression is None else function(expression, part)
        return expression

    @classmethod
    def _every(cls, groups: tuple[tuple[Atom, ...], ...], cfg: str) -> sa.ColumnElement:
        expression = None
        for group in groups:
            part = cls._combine(sa.func.tsquery_or, group, cfg)
            expression = part if expression is None else sa.func.tsquery_and(expression, part)
        return expression

    @classmethod
    def tsquery(cls, query: ParsedQuery, cfg: str) -> sa.ColumnElement:
        """The query as a tsquery stemmed by ``cfg`` (stop words drop out)."""
        expression = cls._every(query.required, cfg)
        if query.not_all:
            not_all = sa.func.tsquery_not(cls._every(query.not_all, cfg))
            expression = sa.func.tsquery_and(expression, not_all)
        if query.excluded:
            excluded = cls._combine(sa.func.tsquery_or, query.excluded, cfg)
            expression = sa.func.tsquery_and(expression, sa.func.tsquery_not(excluded))
        return expression

    def matched(self, now: datetime) -> sa.Select:
        """Matches listed by ``now``, ordered by the index's own copy of ``published_at``."""
        key = self.table.c.article_id
        return (
            sa.select(Article.id, Article.published_at, key.label("key"))
            .select_from(self.table)
            .join(Article, Article.id == key)
            .where(self.matches, self.table.c.listed_at <= now)
        )

    def before(self, published_at: datetime, article_id: int) -> sa.ColumnElement[bool]:
        """After the ``sort=newest`` cursor ``(published_at, id)`` in :attr:`newest_first`."""
        return sa.tuple_(self.table.c.listed_at, self.table.c.article_id) < sa.tuple_(
            sa.literal(published_at, Article.published_at.type),
            sa.literal(article_id, sa.Integer),
        )

    @staticmethod
    def newest_order(row: _Ranked):
        return (row.published_at, row.id)

    @staticmethod
    def via_link(now: datetime, filters: dict) -> None:
        """The link filters of :func:`apply_filters` join the link index in publication order
        already."""
        return None

    def index_only(self, now: datetime, filters: dict, *, match: bool = True) -> sa.Select | None:
        """Matches listed by ``now`` from the index table alone (no join: with one, PostgreSQL
        joins every match of a mid-frequency word before sorting), when no filter needs the
        article; else ``None``. :meth:`scored` checks the visibility of those taken.
        ``match=False``: every listed article the filters let through, matching or not.
        The statement is built once per set of filters; their values go to :attr:`params`."""
        if set(filters) - set(_PG_INDEX_FILTERS):
            return None
        params = self.params
        params["index_now"] = now
        if "section" in filters:
            slug = filters["section"]
            if slug not in self._section_ids:
                found = _rows(_SECTION_ID, {"section_slug": slug}, scalars=True)
                self._section_ids[slug] = found[0] if found else None
            section_id = self._section_ids[slug]
            if section_id is None:
                return None  # (matched() found the same: the search answers no hits)
            params["index_section"] = section_id
        if "published_after" in filters:
            params["index_after"] = filters["published_after"]
        if "published_before" in filters:
            params["index_before"] = filters["published_before"]
        self._shape = tuple(name for name in _PG_INDEX_FILTERS if name in filters)
        self._window_key = (params["tsquery_match"], *((n, filters[n]) for n in self._shape))
        return _pg_listing(self._shape, match)

    def newest_ids(self, now: datetime, filters: dict, size: int) -> list[int]:
        """The ids of the ``size`` newest matches listed by ``now`` (as :meth:`index_only`).

        The plan depends on the share of listed articles that match, which the planner's
        statistics do not tell well (a tsvector tested by a walk is detoasted, which its cost
        model ignores), so it is measured: the newest :data:`SAMPLE_ROWS` listed articles are
        tested one by one. Then, from the share seen, with room for twice the matches needed:

        * a common query (a share of at least :data:`WALK_SHARE`) goes on walking ``listed_at``
          backwards testing each document, over at most that many articles;
        * a less common one takes the GIN bitmap of its words ANDed with the ``listed_at``
          btree's range of that many newest articles (``BitmapAnd``; the GIN index reads the
          words' whole posting lists, which a walk of a few hundred documents beats for common
          words and phrases), up to :data:`LAST_SLICE` articles;
        * a rare one (none in the sample), or any of these that found too few, takes every
          match from the GIN index and sorts them.

        A range of the newest articles holding ``size`` matches holds the ``size`` newest:
        every article outside it is older than every article in it."""
        self.index_only(now, filters)  # (sets the filters' parameters)
        shape, params = self._shape, self.params

        def run(statement: sa.Select, **values) -> list:
            return _rows(statement, {**params, **values}, scalars=True)

        def walk(skip: int, rows: int, count: int) -> list[int]:
            return run(_pg_walk(shape), walk_skip=skip, walk_rows=rows, walk_count=count)

        ids = walk(0, SAMPLE_ROWS, size)
        _keep(_PG_SHARES, self._window_key, len(ids) / SAMPLE_ROWS)
        if len(ids) >= size:
            return ids
        rows = math.ceil(2 * size * SAMPLE_ROWS / len(ids)) if ids else 0
        if rows and len(ids) >= WALK_SHARE * SAMPLE_ROWS:
            ids += walk(SAMPLE_ROWS, rows, size - len(ids))
            if len(ids) >= size:
                return ids
        elif rows and rows <= LAST_SLICE:
            bound = run(_pg_bound(shape), bound_offset=rows - 1)
            if bound:
                ids = run(_pg_newest(shape, True), bound=bound[0], newest_count=size)
                if len(ids) >= size:
                    return ids
        return run(_pg_newest(shape, False), newest_count=size)

    def window(
        self, matched: sa.Select, size: int, now: datetime, filters: dict, index_only: bool
    ) -> sa.Subquery | None:
        """The ``size`` newest of the ``matched`` rows, as :meth:`scored` takes them; when they
        come from the index table alone, read in slices (:meth:`newest_ids`) and kept as the
        parameter ``window_ids`` of :meth:`ranked_page`'s statement (``None``)."""
        if not index_only:
            return matched.order_by(*self.newest_first).limit(size).subquery("window")
        self.params["window_ids"] = _ids_text(self.newest_ids(now, filters, size))
        return None

    def ranked_page(
        self, window: sa.Subquery | None, now: datetime, cursor: list | None, limit: int
    ) -> sa.Select:
        """:func:`_ranked_page` of the ``window``; built once for ``window_ids``."""
        if window is not None:
            return _ranked_page(self.scored(window, now).subquery("ranked"), cursor, limit)
        self.params.update(rank_now=now, page_rows=limit)
        if cursor:
            score, published_at, article_id = cursor
            self.params.update(
                after_score=float(score), after_published_at=published_at, after_id=article_id
            )
        statement = _pg_ranked_page(bool(cursor), False)
        if statement not in _PG_CHECKS:
            _PG_CHECKS[statement] = _pg_ranked_page(bool(cursor), True)
            _PG_BUILT_ONCE.update((statement, _PG_CHECKS[statement]))
        return statement

    def walked(
        self, now: datetime, filters: dict, cursor: list | None, limit: int
    ) -> list[_Ranked] | None:
        """The ranked page (as :meth:`ranked` gives it) by one statement, when the
        :data:`RANK_WINDOW` newest matches are among the newest :data:`WALK_ROWS` listed
        articles (a query matching at least half of them: the commonest words); ``None``
        otherwise, or when the page is empty or holds an article that is not visible, and then
        :meth:`window` and :meth:`ranked` find it. The window is the same either way: walking
        the articles newest first, the first matches found are the newest.

        Tried only for a query whose last measured share (:data:`_PG_SHARES`) was at least
        :data:`WALKED_SHARE`: at 100,000 articles, a walk of 600 documents that falls short
        costs a rare word's search several milliseconds."""
        if self.index_only(now, filters) is None:
            return None
        if _PG_SHARES.get(self._window_key, 0.0) < WALKED_SHARE:
            return None  # unknown or too rare: a walk would fall short
        params = self.params
        params.update(rank_now=now, page_rows=limit, walk_rows=WALK_ROWS, window_rows=RANK_WINDOW)
        if cursor:
            score, published_at, article_id = cursor
            params.update(
                after_score=float(score), after_published_at=published_at, after_id=article_id
            )
        statement = _pg_walked_page(self._shape, bool(cursor))
        _PG_BUILT_ONCE.add(statement)
        rows = self.execute(statement, prepare=True)
        full = bool(rows) and rows[0][-1] >= RANK_WINDOW
        if not full and not cursor:
            _keep(_PG_SHARES, self._window_key, rows[0][-1] / WALK_ROWS if rows else 0.0)
        if not full or not all(row[-2] for row in rows):
            return None
        return [_Ranked(*row[:-2]) for row in rows]

    def ranked(self, page: sa.Select) -> list[_Ranked]:
        """The rows of the ranked ``page``. The window's matches were found in the index table
        alone (``index_only``); they are ranked without reading their articles, and only the
        page's are checked to be visible (the index is written in the same transaction as
        the article: only a write that bypassed it can leave an article there that is not).
        If one of them is not, the page is ranked again among the visible ones only; either
        way the page is the best visible matches of the window."""
        rows = self.execute(page)
        if page not in _PG_CHECKS:
            return [_Ranked(*row) for row in rows]
        if not all(row[-1] for row in rows):
            rows = self.execute(_PG_CHECKS[page])
        return [_Ranked(*row[:-1]) for row in rows]

    @staticmethod
    def scored(candidates: sa.Subquery, now) -> sa.Select:
        """``(id, score, published_at, key)`` of the visible candidate rows (``id``,
        ``published_at``, ``key``)."""
        return (
            sa.select(
                candidates.c.id,
                _PG_SCORE.label("score"),
                candidates.c.published_at,
                candidates.c.key,
            )
            .select_from(candidates)
            .join(_PG_TABLE, _PG_TABLE.c.article_id == candidates.c.key)
            .join(Article, Article.id == candidates.c.id)
            .where(public_condition(now))
        )

    def snippets(self) -> Snippets:
        """The query's snippet maker (made once per query per process)."""
        return _snippet_maker(tuple(self.query_texts.items()))

    def hits(self, rows: list[_Ranked]) -> list[Hit]:
        """The page's hits: stored cards (built where missing or outdated, as
        ``cards.read_cards`` does) and snippets (``snippets``: from the excerpt, the start of
        the body as the index keeps it, marking the words of the query found there; any one
        suffices: a phrase or all the words of an AND query rarely fit in one fragment). The
        ranked page read them with the rows; a ``sort=newest`` page reads them by one more
        statement (:func:`_pg_hits`)."""
        if rows[0].config is None:
            found = {
                ident: (config, text, card)
                for ident, config, text, card in _rows(
                    _pg_hits(), {"hit_ids": _ids_text([row.id for row in rows])}, binary=True
                )
            }
            for row in rows:
                if row.id in found:
                    row.config, row.text, row.card = found[row.id]
            rows = [row for row in rows if row.config is not None]
        cards = complete([CardRow(row.id, row.published_at, row.card) for row in rows])
        snippets = self.snippets()
        return [
            Hit(card, row.score, snippets.render(row.config, row.text))
            for card, row in zip(cards, rows, strict=True)
        ]


def _backend(query: ParsedQuery):
    dialect = db.engine.dialect.name  # not the session's bind: that would make a session
    if dialect == "postgresql":
        return _PostgreSQL(query)
    if dialect == "sqlite":
        return _SQLite(query)
    raise NotImplementedError(f"Search is not available on {dialect}.")


# --- searching --------------------------------------------------------------------------------


def search(
    query: ParsedQuery | str,
    filters: dict,
    *,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
    now: datetime | None = None,
    sort: str = "relevance",
) -> Page:
    """Visible articles matching ``query`` as a page of :class:`Hit`.

    ``sort="relevance"``: best first among the :data:`RANK_WINDOW` newest matches; ``cursor`` is
    ``[score, published_at, id]`` of the last hit of the previous page (and maybe a fourth
    value, below). ``sort="newest"``: every match, newest first; ``cursor`` is
    ``[None, published_at, id]``. ``filters`` are those of
    the article list (section, tag, author, source, language, published_after,
    published_before).

    A query of several words (required groups) ranked by relevance lists the articles that
    have every word first, then those that have some of them but not all
    (:meth:`ParsedQuery.some_of_them`), each part best first, with ``Hit.all_words`` telling
    them apart; ``sort="newest"`` lists the second part only when no article has every word
    (newest first is by time alone). The cursor of a page ending in the second part says so
    (its fourth value, ``True``). ``page.extra["matched"]`` sums up the page: ``"all"`` (every
    hit has every word, or no hit), ``"some"`` (both kinds), ``"any"`` (none has every word).
    """
    if isinstance(query, str):
        try:
            query = parse_query(query)
        except QueryError as exc:
            raise InvalidSearch(str(exc), errors={"q": [str(exc)]}) from exc
    if sort not in SORTS:
        raise InvalidSearch(f"Unknown sort '{sort}'.", errors={"sort": ["Unknown sort."]})
    if cursor and (cursor[0] is None) != (sort == "newest"):
        raise InvalidSearch(
            "This cursor belongs to a search with another sort.",
            errors={"cursor": ["Belongs to another sort."]},
        )
    now = now or utcnow()
    some = query.some_of_them()
    after_all = some is not None and sort == "relevance"  # the second part follows the first
    in_some = some is not None and bool(cursor) and len(cursor) > 3 and cursor[3]
    if not in_some:
        page, after = _search(_backend(query), filters, limit, cursor, count, now, sort)
        first_part_ends = some is not None and page.next_cursor is None
        if first_part_ends and (after_all or not (page.items or cursor)):
            # The articles with every word end on this page (or, newest first, there are
            # none): those with some of them follow.
            room = limit - len(page.items)
            rest, _ = _search(_backend(some), filters, max(room, 1), None, count, now, sort, True)
            if room:
                page.items += rest.items
                page.next_cursor = rest.next_cursor
            elif rest.items:
                page.next_cursor = after
            if count:
                page.total += rest.total
        elif after_all and count:
            page.total += _count(some, filters, now)
    else:
        page, _ = _search(_backend(some), filters, limit, cursor, count, now, sort, True)
        if after_all and count:
            page.total += _count(query, filters, now)
    kinds = {hit.all_words for hit in page.items}
    page.extra["matched"] = "some" if len(kinds) > 1 else "any" if False in kinds else "all"
    return page


def _search(
    backend, filters, limit, cursor, count, now, sort, some=False
) -> tuple[Page, str | None]:
    """A page of ``backend``'s matches and the cursor after its last hit (``next_cursor``
    when more follow); ``some``: they are the articles with some of the words (``search``)."""
    # Without filters on the article, the newest matches come from the index table alone; the
    # few taken are checked against the articles afterwards (the index is written in the same
    # transaction as the article, so the check only guards against writes that bypass it).
    cursor = cursor and cursor[:3]  # (a fourth value is ``search``'s)
    alone = backend.index_only(now, filters)
    total = None
    if alone is None or count:
        matched = _matched(backend, filters, now)
        if matched is None:
            return Page(items=[], limit=limit, total=0 if count else None), None
        if count:
            total = _total(backend, matched)
    if alone is not None:
        matched = alone
    if sort == "newest":
        if cursor:
            _, published_at, article_id = cursor
            matched = matched.where(backend.before(published_at, article_id))
        page = backend.scored(
            matched.order_by(*backend.newest_first).limit(limit + 1).subquery("page"), now
        )
        rows = sorted(
            (_Ranked(*row) for row in backend.execute(page)),
            key=backend.newest_order,
            reverse=True,
        )
    else:
        rows = backend.walked(now, filters, cursor, limit + 1) if alone is not None else None
        if rows is None:
            window = backend.window(matched, RANK_WINDOW, now, filters, alone is not None)
            page = backend.ranked_page(window, now, cursor, limit + 1)
            rows = backend.ranked(page)
    more = len(rows) > limit
    rows = rows[:limit]
    after = None
    if rows:
        last = rows[-1]
        first = NEWEST_CURSOR if sort == "newest" else repr(last.score)
        after = encode_cursor([SOME_CURSOR + first if some else first, last.cursor_time(), last.id])
    hits = backend.hits(rows) if rows else []
    if some:
        for hit in hits:
            hit.all_words = False
    return Page(items=hits, limit=limit, next_cursor=after if more else None, total=total), after


def _matched(backend, filters: dict, now: datetime) -> sa.Select | None:
    """The visible matches with the ``filters``; ``None`` when a filter names nothing."""
    via = backend.via_link(now, filters)
    if via is not None:
        return apply_filters(via[0].where(public_condition(now)), via[1])
    return apply_filters(backend.matched(now).where(public_condition(now)), filters)


def _total(backend, matched: sa.Select | None) -> int:
    if matched is None:
        return 0
    return backend.execute(sa.select(sa.func.count()).select_from(matched.subquery()))[0][0]


def _count(query: ParsedQuery, filters: dict, now: datetime) -> int:
    """How many visible articles match ``query`` with the ``filters``."""
    backend = _backend(query)
    return _total(backend, _matched(backend, filters, now))
