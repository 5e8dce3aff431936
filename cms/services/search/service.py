"""Full-text search of articles on the database's own engine.

One interface, two backends chosen by the SQL dialect:

* **PostgreSQL**: table ``article_search(article_id, config, document tsvector)`` with a GIN
  index. The document is weighted (title A, subtitle and tags B, body D) and stemmed with the
  text-search configuration of the article's language (``english``, ``german``, else
  ``simple``). Ranking is ``ts_rank_cd``; snippets come from ``ts_headline`` over the first
  :data:`SNIPPET_SOURCE_CHARS` characters of the body, so their cost does not grow with it.
* **SQLite**: FTS5 table ``article_search(title, subtitle, body, tags)`` whose rowid is the
  article id, tokenizer ``porter unicode61 remove_diacritics 2``. Ranking is ``bm25`` with column
  weights; snippets come from ``snippet()``. FTS5 ships no German stemmer: German text is
  matched by exact word (case and diacritics folded) plus English suffix rules, so inflected
  German forms may not find each other on SQLite.

The table keeps its own copy of the text (not content-less: ``snippet()`` needs the text; not
external-content: its deletes need the *old* values, gone once the article row changed).

Keeping it current: :func:`index_article` (called by the article service whenever it writes an
article) queues the article; the queued rows are written at the next flush, in the same
transaction. Tag renames and deletions re-index the articles carrying the tag. Deleting an
article deletes its index row in the database itself (PostgreSQL: foreign key ``ON DELETE
CASCADE``; SQLite: trigger ``article_search_delete``). Every article is indexed whatever its
status; visibility is decided at query time by :func:`visibility.public_condition`, so a
scheduled article becomes searchable on time without re-indexing. ``flask rebuild search``
rebuilds everything.

Query language (the same on both databases): words are all required and stemmed; very common
words (:data:`STOP_WORDS`) are ignored outside quoted phrases;
``"a phrase"``; ``word*`` is a prefix (at least 3 letters; it matches the *stemmed* forms, so
``autom*`` finds "automation" but ``automati*`` does not); ``a OR b``; ``-word`` or
``-"a phrase"`` excludes. Every other character is a separator: user input is never passed to
the engine's own query syntax.

Ranking and paging: ``sort=relevance`` takes the :data:`RANK_WINDOW` newest visible matches
(found through the index, never ranked) and orders them by ``(score desc, published_at desc, id
desc)``; the cursor carries that triple. Ranking reads each ranked document's index entry, so
the window keeps a query matching a third of the archive as cheap as a rare one.
``sort=newest`` orders every match by ``(published_at desc, id desc)`` and scores only the
page. Paging never repeats or skips a hit while the index is unchanged; a change between two
page requests (a new article shifts bm25 statistics, an edit changes a score) can move a hit
across the page boundary.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cms.clock import utcnow
from cms.errors import CmsError
from cms.extensions import db
from cms.models import Article, Tag, article_tags
from cms.pagination import Page, encode_cursor
from cms.services.public.loaders import CARD_LOADERS
from cms.services.public.reading import apply_filters
from cms.services.visibility import public_condition
from cms.text import QUERY_STOP_WORDS

INDEX_TABLE = "article_search"
SQLITE_DELETE_TRIGGER = "article_search_delete"
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
        # PostgreSQL
        "ix_article_search_document",
        "fk_article_search_article_id_articles",
        "pk_article_search",
        SQLITE_DELETE_TRIGGER,
    }
)


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic ``include_object`` hook: leave the search index objects out of comparisons."""
    return name not in SEARCH_INDEX_OBJECTS


# ``sort=relevance`` ranks this many of the newest matches, so a broad query ranks a bounded
# set (ranking reads each candidate's index entry) instead of every match.
RANK_WINDOW = 300
SORTS = ("relevance", "newest")
# First element of a ``sort=newest`` cursor, in place of a score.
NEWEST_CURSOR = "newest"
# Snippets are cut from at most this much of the start of the body, so their cost does not
# grow with the body's length.
SNIPPET_SOURCE_CHARS = 4000

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MIN_PREFIX_CHARS = 3
SNIPPET_TOKENS = 32

# Language (primary subtag) -> PostgreSQL text-search configuration; anything else: simple.
PG_CONFIGS = {"en": "english", "de": "german"}
PG_FALLBACK_CONFIG = "simple"
# Column weights. PostgreSQL: weight labels per field (D, C, B, A = 0.1, 0.2, 0.4, 1.0).
# SQLite: bm25 multipliers per FTS5 column (title, subtitle, body, tags).
BM25_WEIGHTS = (10.0, 4.0, 1.0, 4.0)

# Marks around hits, chosen from Unicode's private use area so no text contains them; the
# snippet is HTML-escaped and then the marks become <mark>…</mark>.
_OPEN, _CLOSE = "\ue000", "\ue001"
_ELLIPSIS = "…"


class InvalidSearch(CmsError):
    """A query that cannot be searched for (answered 400)."""

    status = 400
    type = "urn:cms:problem:invalid-search"


class QueryError(ValueError):
    pass


# --- query language ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    """Words matched as a phrase (one word: a plain term); ``prefix``: the last word is one."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """All groups are required; each group is satisfied by any of its atoms (``OR``)."""

    required: tuple[tuple[Atom, ...], ...]
    excluded: tuple[Atom, ...] = ()
    text: str = ""

    @property
    def atoms(self) -> list[Atom]:
        return [a for group in self.required for a in group] + list(self.excluded)


# Words too common to search for on their own (the short list of cms.text). Inside a quoted
# phrase they count. PostgreSQL drops its own stop words too; on SQLite, FTS5 keeps every word,
# and a query term found in nearly every article costs a scan of the whole index.
STOP_WORDS = QUERY_STOP_WORDS

_TOKEN = re.compile(r'(-?)"([^"]*)(?:"|$)|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def _atom(text: str, *, phrase: bool) -> Atom | None:
    words = tuple(w.lower() for w in _WORD.findall(text))
    prefix = not phrase and text.endswith("*")
    if not words or (len(words) == 1 and not phrase and not prefix and words[0] in STOP_WORDS):
        return None
    return Atom(words, prefix and len(words[-1]) >= MIN_PREFIX_CHARS)


def parse_query(text: str) -> ParsedQuery:
    """Parse what a reader typed; :class:`QueryError` when there is nothing to search for."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is too long; use at most {MAX_QUERY_CHARS} characters.")
    groups: list[list[Atom]] = []
    excluded: list[Atom] = []
    join_next = False  # the previous token was OR
    for match in _TOKEN.finditer(text):
        negated_phrase, phrase, bare = match.groups()
        if bare is not None and bare == "OR":
            join_next = bool(groups)
            continue
        negated = bool(negated_phrase) or (bare is not None and bare.startswith("-"))
        atom = (
            _atom(phrase, phrase=True)
            if phrase is not None
            else _atom(bare.lstrip("-") if negated else bare, phrase=False)
        )
        if atom is None:
            continue
        if negated:
            excluded.append(atom)
        elif join_next:
            groups[-1].append(atom)
        else:
            groups.append([atom])
        join_next = False
    if not groups:
        if excluded:
            raise QueryError("The query only excludes words; add a word to search for.")
        if _WORD.search(text):
            raise QueryError(
                "The query has only words too common to search for (like “the”); add a more "
                'specific word, or quote a phrase ("to be or not to be").'
            )
        raise QueryError("The query has no words to search for.")
    parsed = ParsedQuery(tuple(tuple(g) for g in groups), tuple(excluded), text)
    if len(parsed.atoms) > MAX_TERMS:
        raise QueryError(f"Too many search terms; use at most {MAX_TERMS}.")
    return parsed


# --- snippets ---------------------------------------------------------------------------------


def render_snippet(raw: str | None) -> str:
    """Escape the text and turn the engine's marks into balanced ``<mark>`` elements."""
    out: list[str] = []
    open_ = False
    for part in re.split(f"([{_OPEN}{_CLOSE}])", raw or ""):
        if part == _OPEN:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == _CLOSE:
            if open_:
                out.append("</mark>")
                open_ = False
        elif part:
            out.append(html.escape(part, quote=False))
    if open_:
        out.append("</mark>")
    return re.sub(r"\s+", " ", "".join(out)).strip()


# --- results ----------------------------------------------------------------------------------


@dataclass
class Hit:
    """An article found by a search, with its score and highlighted snippet."""

    article: Article
    score: float
    snippet: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.article, name)


@dataclass
class _Ranked:
    id: int
    score: float
    published_at: datetime


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

    def matched(self) -> sa.Select:
        return (
            sa.select(Article.id, Article.published_at)
            .select_from(self.table)
            .join(Article, Article.id == self.table.c.rowid)
            .where(self.matches)
        )

    def scored(self, candidates: sa.Subquery) -> sa.Select:
        """``(id, published_at, score)`` of the candidate rows (``id``, ``published_at``)."""
        return (
            sa.select(candidates.c.id, candidates.c.published_at, self.score.label("score"))
            .select_from(self.table)
            .join(candidates, candidates.c.id == self.table.c.rowid)
            .where(self.matches)
        )

    def snippets(self, ids: list[int]) -> dict[int, str]:
        def snip(column: int) -> str:
            return (
                f"snippet({INDEX_TABLE}, {column}, '{_OPEN}', '{_CLOSE}', '{_ELLIPSIS}', "
                f"{SNIPPET_TOKENS})"
            )

        text = sa.literal_column(
            f"CASE WHEN {INDEX_TABLE}.body != '' THEN {snip(2)} ELSE {snip(1)} END"
        )
        rows = db.session.execute(
            sa.select(self.table.c.rowid, text)
            .select_from(self.table)
            .where(self.matches, self.table.c.rowid.in_(ids))
        )
        return dict(rows.all())


def _pg_config_of(language: sa.ColumnElement) -> sa.ColumnElement:
    """SQL: the text-search configuration for an article's language."""
    whens = [
        (sa.or_(language == code, language.like(f"{code}-%")), name)
        for code, name in PG_CONFIGS.items()
    ]
    return sa.case(*whens, else_=PG_FALLBACK_CONFIG)


def _pg_configs() -> list[str]:
    return [*PG_CONFIGS.values(), PG_FALLBACK_CONFIG]


class _PostgreSQL:
    """tsvector, GIN, ts_rank_cd, ts_headline."""

    def __init__(self, query: ParsedQuery):
        self.table = sa.table(
            INDEX_TABLE,
            sa.column("article_id"),
            sa.column("config"),
            sa.column("document"),
        )
        self.queries = {cfg: self.tsquery(query, cfg) for cfg in _pg_configs()}
        config = self.table.c.config

        def is_(cfg: str) -> sa.ColumnElement[bool]:
            return config == sa.literal_column(f"'{cfg}'::regconfig")

        # One branch per configuration, each against a constant tsquery: the GIN index serves
        # every branch (a BitmapOr), and a document only meets the query stemmed its own way.
        self.matches = sa.or_(
            *(
                sa.and_(is_(cfg), self.table.c.document.op("@@")(tsq))
                for cfg, tsq in self.queries.items()
            )
        )
        self.own_query = sa.case(*((is_(cfg), tsq) for cfg, tsq in self.queries.items()))
        self.score = sa.cast(sa.func.ts_rank_cd(self.table.c.document, self.own_query, 1), sa.Float)

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
    def tsquery(cls, query: ParsedQuery, cfg: str) -> sa.ColumnElement:
        """The query as a tsquery stemmed by ``cfg`` (stop words drop out)."""
        expression = None
        for group in query.required:
            part = cls._combine(sa.func.tsquery_or, group, cfg)
            expression = part if expression is None else sa.func.tsquery_and(expression, part)
        if query.excluded:
            excluded = cls._combine(sa.func.tsquery_or, query.excluded, cfg)
            expression = sa.func.tsquery_and(expression, sa.func.tsquery_not(excluded))
        return expression

    def matched(self) -> sa.Select:
        return (
            sa.select(Article.id, Article.published_at)
            .select_from(self.table)
            .join(Article, Article.id == self.table.c.article_id)
            .where(self.matches)
        )

    def scored(self, candidates: sa.Subquery) -> sa.Select:
        """``(id, published_at, score)`` of the candidate rows (``id``, ``published_at``)."""
        return (
            sa.select(candidates.c.id, candidates.c.published_at, self.score.label("score"))
            .select_from(candidates)
            .join(self.table, self.table.c.article_id == candidates.c.id)
        )

    def snippets(self, ids: list[int]) -> dict[int, str]:
        options = (
            f'StartSel="{_OPEN}", StopSel="{_CLOSE}", MaxWords=35, MinWords=15, '
            f'MaxFragments=2, FragmentDelimiter=" {_ELLIPSIS} "'
        )
        text = sa.case(
            (Article.body_text != "", sa.func.substr(Article.body_text, 1, SNIPPET_SOURCE_CHARS)),
            else_=Article.subtitle,
        )
        headline = sa.func.ts_headline(self.table.c.config, text, self.own_query, options)
        rows = db.session.execute(
            sa.select(Article.id, headline)
            .select_from(self.table)
            .join(Article, Article.id == self.table.c.article_id)
            .where(Article.id.in_(ids))
        )
        return dict(rows.all())


def _backend(query: ParsedQuery):
    dialect = db.session.get_bind().dialect.name
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
    ``[score, published_at, id]`` of the last hit of the previous page. ``sort="newest"``: every
    match, newest first; ``cursor`` is ``[None, published_at, id]``. ``filters`` are those of
    the article list (section, tag, author, source, language, published_after,
    published_before).
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
    backend = _backend(query)
    matched = apply_filters(backend.matched().where(public_condition(now)), filters)
    if matched is None:
        return Page(items=[], limit=limit, total=0 if count else None)
    total = None
    if count:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(matched.subquery()))
    newest_first = (Article.published_at.desc(), Article.id.desc())
    if sort == "newest":
        if cursor:
            _, published_at, article_id = cursor
            matched = matched.where(
                sa.tuple_(Article.published_at, Article.id)
                < sa.tuple_(
                    sa.literal(published_at, Article.published_at.type),
                    sa.literal(article_id, sa.Integer),
                )
            )
        page = backend.scored(matched.order_by(*newest_first).limit(limit + 1).subquery("page"))
        page = page.subquery("scored")
        page = sa.select(page.c.id, page.c.score, page.c.published_at).order_by(
            page.c.published_at.desc(), page.c.id.desc()
        )
    else:
        window = matched.order_by(*newest_first).limit(RANK_WINDOW).subquery("window")
        ranked = backend.scored(window).subquery("ranked")
        page = sa.select(ranked.c.id, ranked.c.score, ranked.c.published_at)
        if cursor:
            score, published_at, article_id = cursor
            page = page.where(
                sa.tuple_(ranked.c.score, ranked.c.published_at, ranked.c.id)
                < sa.tuple_(
                    sa.literal(float(score), sa.Float),
                    sa.literal(published_at, Article.published_at.type),
                    sa.literal(article_id, sa.Integer),
                )
            )
        page = page.order_by(
            ranked.c.score.desc(), ranked.c.published_at.desc(), ranked.c.id.desc()
        ).limit(limit + 1)
    rows = [_Ranked(*row) for row in db.session.execute(page)]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        first = NEWEST_CURSOR if sort == "newest" else repr(last.score)
        next_cursor = encode_cursor([first, last.published_at, last.id])
    ids = [row.id for row in rows]
    articles = {}
    snippets = {}
    if ids:
        articles = {
            a.id: a
            for a in db.session.scalars(
                sa.select(Article).where(Article.id.in_(ids)).options(*CARD_LOADERS)
            )
        }
        snippets = backend.snippets(ids)
    hits = [
        Hit(articles[row.id], row.score, render_snippet(snippets.get(row.id)))
        for row in rows
        if row.id in articles
    ]
    return Page(items=hits, limit=limit, next_cursor=next_cursor, total=total)


# --- keeping the index current ----------------------------------------------------------------

_PENDING = "cms.search.pending_articles"
_PENDING_IDS = "cms.search.pending_ids"


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
        delete = sa.delete(table)
        if ids is not None:
            delete = delete.where(table.c.rowid.in_(ids))
        connection.execute(delete)
        rows = source.add_columns(
            Article.title, Article.subtitle, Article.body_text, _tags_text(dialect)
        )
        connection.execute(
            sa.insert(table).from_select(["rowid", "title", "subtitle", "body", "tags"], rows)
        )
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        table = sa.table(
            INDEX_TABLE, sa.column("article_id"), sa.column("config"), sa.column("document")
        )
        config = sa.cast(_pg_config_of(Article.language), postgresql.REGCONFIG)

        def weighted(text, weight: str):
            label = sa.literal_column(f"'{weight}'")  # a constant A-D, typed "char" by PG
            return sa.func.setweight(sa.func.to_tsvector(config, text), label)

        document = (
            weighted(Article.title, "A")
            .op("||")(weighted(Article.subtitle, "B"))
            .op("||")(weighted(_tags_text(dialect), "B"))
            .op("||")(weighted(Article.body_text, "D"))
        )
        insert = postgresql.insert(table).from_select(
            ["article_id", "config", "document"], source.add_columns(config, document)
        )
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=["article_id"],
                set_={"config": insert.excluded.config, "document": insert.excluded.document},
            )
        )
    else:
        raise NotImplementedError(f"Search is not available on {dialect}.")


def rebuild_index(connection: sa.Connection | None = None) -> int:
    """Re-create every index row (and, on SQLite, the delete trigger); returns the count."""
    connection = connection or db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"CREATE TRIGGER IF NOT EXISTS {SQLITE_DELETE_TRIGGER} AFTER DELETE ON articles "
            f"BEGIN DELETE FROM {INDEX_TABLE} WHERE rowid = old.id; END"
        )
    else:
        connection.execute(sa.text(f"DELETE FROM {INDEX_TABLE}"))
    _write_rows(connection, None)
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"INSERT INTO {INDEX_TABLE}({INDEX_TABLE}) VALUES ('optimize')")
    return connection.scalar(sa.text(f"SELECT count(*) FROM {INDEX_TABLE}"))


def listen(session_factory) -> None:
    """Keep the index current in every session of ``session_factory`` (``registry.install``)."""
    sa.event.listen(session_factory, "before_flush", _note_tag_changes)
    sa.event.listen(session_factory, "after_flush", _write_pending)
    sa.event.listen(session_factory, "after_soft_rollback", _forget_pending)


def _note_tag_changes(session: Session, flush_context, instances) -> None:
    """A renamed or deleted tag changes the indexed text of the articles carrying it."""
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
    articles = session.info.pop(_PENDING, set())
    ids = session.info.pop(_PENDING_IDS, set())
    for article in articles:
        state = sa.inspect(article)
        if article.id is not None and not (state.deleted or state.was_deleted or state.detached):
            ids.add(article.id)
    if ids:
        _write_rows(session.connection(), sorted(ids))


def _forget_pending(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_IDS, None)
