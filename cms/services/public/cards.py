"""Article cards stored as JSON, so a list page joins stored JSON instead of building it.

A card (``ArticleCard``) shows the article's own fields and the names of its section, tags,
authors and sources. :func:`build` stores the cards of some articles; the session hooks at the
bottom call it before every commit for each article whose card may have changed: the articles
written in the transaction (but those it leaves unlisted, whose card no reader is shown), and
the articles of a section, tag, author or source that was changed or deleted.

A stored card is used only while its ``article_version`` equals the article's ``version``, which
every write of an article bumps, so a write that bypassed the hooks can never make a card
stale: :func:`read_cards` builds a missing or outdated card on the fly, as the list did before
(``reading.read_cards``). ``flask --app wsgi rebuild cards`` stores every card, e.g. after an
upgrade or a bulk import.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from cms.database import insert_rows, upsert
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    ContentGeneration,
    Section,
    Source,
    StoredCard,
    Tag,
)
from cms.schemas.articles.dumpers import card_data
from cms.services.public import reading
from cms.services.public.taxonomies import ARTICLES_OF
from cms.services.visibility import listed_at_of

_CHUNK = 500
# A renamed or deleted section, tag, author or source: the cards of its newest articles are
# rebuilt in the same transaction; older ones are dropped and built on demand (or by
# ``rebuild cards``), so renaming a section of 200,000 articles stays a quick request.
TAXONOMY_REBUILD_LIMIT = 500


class CardRow:
    """A list row: the keys keyset pagination needs, the card as JSON (``None`` when only the
    keys were read) and the content generation the statement saw."""

    __slots__ = ("id", "published_at", "json", "generation")

    def __init__(self, ident, published_at, json, generation=None):
        self.id, self.published_at, self.json = ident, published_at, json
        self.generation = generation


# The content generation, read by the list's own statement: the same snapshot as its rows.
_GENERATION = (
    sa.select(ContentGeneration.value)
    .where(ContentGeneration.id == 1)
    .scalar_subquery()
    .label("generation")
)


def read_cards(query: sa.Select, params: dict | None = None) -> list[CardRow]:
    """The cards of the articles ``query`` selects (WHERE, ORDER BY, LIMIT kept), as JSON.

    One statement when every card is stored and current; the others are built as before.
    """
    statement = reading.card_statement(query, _with_stored_card)
    rows = reading.read_rows(statement, params)  # Core rows: no ORM result processing
    return complete([CardRow(*row) for row in rows])


def complete(cards: list[CardRow]) -> list[CardRow]:
    """Build the JSON of the cards that were read without a current stored one."""
    missing = {card.id: card for card in cards if card.json is None}
    if missing:
        for built in reading.read_cards(sa.select(Article).where(Article.id.in_(missing))):
            missing[built.id].json = orjson.dumps(card_data(built))
    return cards


def read_keys(query: sa.Select, params: dict | None = None) -> list[CardRow]:
    """What a list page is made of without its cards: the ids and publication times of the
    articles ``query`` selects, and the content generation (``reading.list_articles``'s
    ``reader``, for the page's ETag)."""
    statement = reading.card_statement(query, _keys_only)
    rows = reading.read_rows(statement, params)
    return [CardRow(ident, at, None, generation) for ident, at, generation in rows]


def _keys_only(query: sa.Select) -> sa.Select:
    return query.with_only_columns(
        Article.id, Article.published_at, _GENERATION, maintain_column_froms=True
    )


def _with_stored_card(query: sa.Select) -> sa.Select:
    return query.with_only_columns(
        Article.id,
        Article.published_at,
        StoredCard.card,
        _GENERATION,
        maintain_column_froms=True,
    ).outerjoin_from(Article, StoredCard, reading.current_card())


def build(article_ids: Iterable[int]) -> int:
    """Store the current cards of these articles (any status); returns how many."""
    ids = sorted(set(article_ids))
    stored = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        versions = _versions(chunk)
        cards = reading.read_cards(sa.select(Article).where(Article.id.in_(chunk)))
        if not cards:
            continue
        stored += _store([(card, versions[card.id]) for card in cards])
    return stored


def _versions(ids: list[int]) -> dict[int, int]:
    """The versions of these articles: those the session holds flushed and loaded (the
    articles this transaction wrote) as it holds them, the others read. A version older than
    the stored article's (a concurrent writer's commit) only marks the card outdated, to be
    built when read; it never makes an outdated card pass for current."""
    versions: dict[int, int] = {}
    for ident in ids:
        article = db.session.identity_map.get(Session.identity_key(Article, ident))
        if article is None:
            continue
        state = sa.inspect(article)
        if "version" in state.dict and not state.modified and not state.deleted:
            versions[ident] = state.dict["version"]
    missing = [ident for ident in ids if ident not in versions]
    if missing:
        versions.update(
            db.session.execute(
                sa.select(Article.id, Article.version).where(Article.id.in_(missing))
            ).all()
        )
    return versions


def store(articles: list) -> int:
    """Store the cards of articles inserted in this transaction (a bulk import), from the
    objects at hand: what :func:`build` would read back, not read. A new article has no stored
    card yet, so the rows are inserted (:func:`cms.database.insert_rows`), not upserted. Each
    needs what :func:`card_data` reads, and ``id`` and ``version``."""
    rows = [
        {
            "article_id": article.id,
            "article_version": article.version,
            "card": orjson.dumps(card_data(article)).decode(),
        }
        for article in articles
    ]
    insert_rows(db.session.connection(), StoredCard.__table__, rows)
    return len(rows)


def _store(cards: list[tuple[object, int]]) -> int:
    """Upsert ``(card, article version)`` pairs as stored cards."""
    rows = [
        {
            "article_id": card.id,
            "article_version": version,
            "card": orjson.dumps(card_data(card)).decode(),
        }
        for card, version in cards
    ]
    # Many parameter sets for one statement (compiled once), not one VALUES list per call.
    db.session.execute(_upsert_statement(db.session), rows)
    return len(rows)


_UPSERTS: dict[str, sa.Insert] = {}


def _upsert_statement(session) -> sa.Insert:
    dialect = session.get_bind().dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        table = StoredCard.__table__
        insert = upsert(session, table)
        statement = _UPSERTS[dialect] = insert.on_conflict_do_update(
            index_elements=[table.c.article_id],
            set_={"article_version": insert.excluded.article_version, "card": insert.excluded.card},
        )
    return statement


def rebuild_all(*, only_missing: bool = False) -> int:
    """Store the card of every article (or of those without a current one)."""
    query = sa.select(Article.id).order_by(Article.id)
    if only_missing:
        query = query.outerjoin(StoredCard, reading.current_card()).where(
            StoredCard.article_id.is_(None)
        )
    ids = db.session.scalars(query).all()
    return build(ids)


def _refresh_taxonomy(model, ident: int) -> None:
    """After a change to a section, tag, author or source: rebuild or drop its articles' cards."""
    articles = ARTICLES_OF[model](ident).subquery()
    newest = db.session.scalars(
        sa.select(Article.id)
        .where(Article.id.in_(sa.select(articles)))
        .order_by(Article.published_at.desc().nulls_first(), Article.id.desc())
        .limit(TAXONOMY_REBUILD_LIMIT + 1)
    ).all()
    if len(newest) > TAXONOMY_REBUILD_LIMIT:
        db.session.execute(
            sa.delete(StoredCard).where(StoredCard.article_id.in_(sa.select(articles)))
        )
    build(newest[:TAXONOMY_REBUILD_LIMIT])


_LISTING = frozenset(("status", "published_at"))


def _maybe_listed(session: Session, ids: Iterable[int]) -> list[int]:
    """The ``ids`` whose card a reader may be shown: all but the articles the session holds as
    written that are not listed (a draft, in review, archived), whose card only a list that
    never shows them would read. Their card is built when they are next written listed (a
    publish bumps the version, which outdates any card stored before), by ``rebuild cards``,
    or on the fly if read; so a reader sees the same card as if it had been stored."""
    kept = []
    for ident in ids:
        article = session.identity_map.get(Session.identity_key(Article, ident))
        if article is not None:
            state = sa.inspect(article)
            loaded = state.dict  # an attribute never set, nor expired, is None
            if (
                not state.modified
                and not state.expired_attributes & _LISTING
                and listed_at_of(loaded.get("status"), loaded.get("published_at")) is None
            ):
                continue
        kept.append(ident)
    return kept


# --- keeping cards current ------------------------------------------------------------------

_TAXONOMIES = (Section, Tag, Author, Source)
_PENDING = "cms_cards_pending"  # session.info: article ids whose card must be rebuilt
_TAXONOMY_PENDING = "cms_cards_taxonomies"  # session.info: {(model, id)} changed or deleted
def listen(session_factory) -> None:
    """Keep cards current in every session of ``session_factory`` (``registry.install``)."""

    @sa.event.listens_for(session_factory, "before_flush")
    def _note_taxonomies(session: Session, _context, _instances):
        changed = session.info.setdefault(_TAXONOMY_PENDING, set())
        for obj in session.dirty:
            if isinstance(obj, _TAXONOMIES) and session.is_modified(obj):
                changed.add((type(obj), obj.id))
        deleted = [obj for obj in session.deleted if isinstance(obj, _TAXONOMIES)]
        if deleted:
            # Before the flush: a deleted tag's links are still there to say whose card shows it.
            pending = session.info.setdefault(_PENDING, set())
            with session.no_autoflush:
                for obj in deleted:
                    pending.update(session.scalars(ARTICLES_OF[type(obj)](obj.id)))

    @sa.event.listens_for(session_factory, "after_flush")
    def _note_articles(session: Session, _context):
        pending = session.info.setdefault(_PENDING, set())
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, Article):
                pending.add(obj.id)
            elif isinstance(obj, ArticleAuthor | ArticleSource):
                pending.add(obj.article_id)

    @sa.event.listens_for(session_factory, "before_commit")
    def _rebuild(session: Session):
        session.flush()
        taxonomies = session.info.pop(_TAXONOMY_PENDING, set())
        for model, ident in sorted(taxonomies, key=lambda item: (item[0].__name__, item[1])):
            _refresh_taxonomy(model, ident)
        # ids of articles deleted since are skipped
        build(_maybe_listed(session, session.info.pop(_PENDING, ())))

    @sa.event.listens_for(session_factory, "after_rollback")
    def _forget(session: Session):
        session.info.pop(_PENDING, None)
        session.info.pop(_TAXONOMY_PENDING, None)
