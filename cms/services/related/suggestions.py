"""Suggested related articles: computed by the worker after a save, read with one query.

On every save that changes what an article is about (and on publish, when the publication
time moves to another hour), :func:`update_article_suggestions` stores the article's
similarity features (``cms.services.related.scoring``) with their inverted-index keys and document
frequencies, and records a job (:func:`enqueue`, table ``derived_jobs``) in the same
transaction. The worker (``cms.services.derived.jobs``) then runs :func:`refresh_suggestions`,
which

1. with ``CMS_RELATED_BACKEND=semantic``, embeds the article's text unless that exact text is
   stored already (:func:`store_embedding`, table ``article_embeddings``);
2. gathers candidates: articles sharing an index key (tags, names, the 40 heaviest terms, keys
   held by too many articles skipped), the nearest stored embeddings among the newest
   ``EMBEDDING_WINDOW`` (semantic backend) and the ``RECENT_CANDIDATES`` newest public articles;
3. scores them and stores the article's best ``STORED_PER_ARTICLE`` suggestions;
4. offers the article to each candidate's own list, so the suggestions that involve it are
   current too.

A bulk import only records jobs; the worker computes those articles together
(:func:`update_batch`).

While an article's job waits, reading its suggestions ranks them on the spot from the same
stored features (:func:`suggested`), so ``/related`` is complete the moment the save answers;
the save itself no longer pays for the ranking (about half the CPU of a create at a few hundred
articles, growing with the archive).

Suggestions are stored regardless of visibility; :func:`suggested` filters them through
``visibility.public_condition`` at read time, so unpublishing or a scheduled time arriving
needs no recomputation, and reading stays one indexed query.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

import orjson
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from cms.clock import utcnow
from cms.database import in_chunks, in_values, upsert
from cms.extensions import db
from cms.models import (
    Article,
    ArticleEmbedding,
    ArticleFeatures,
    DerivedJob,
    FeatureKey,
    StoredCard,
    Suggestion,
    TermStat,
)
from cms.models.types import UTCDateTime
from cms.services.public import cards
from cms.services.public.cards import CardRow
from cms.services.public.loaders import CARD_LOADERS
from cms.services.public.reading import current_card, read_rows
from cms.services.related import embeddings, scoring
from cms.services.visibility import public_condition

log = logging.getLogger(__name__)

STORED_PER_ARTICLE = 40
MAX_CANDIDATES = 400
# A key shared by more than this share of all articles (and more than COMMON_KEY_MIN_DF) says
# little; it is not used to find candidates (it still counts in the score).
COMMON_KEY_SHARE = 0.05
COMMON_KEY_MIN_DF = 20
# The newest public articles are always scored, so every article has suggestions once a few
# others are public, even when it shares no key with them.
RECENT_CANDIDATES = 20
# Semantic backend: the nearest stored embeddings among the newest EMBEDDING_WINDOW are
# candidates too, so a pair with no shared word can be found.
NEIGHBOURS = 50
EMBEDDING_WINDOW = 5000
_CHUNK = 500
_DF_PENDING = "cms.suggestions.df_pending"  # session.info: document frequency changes


class Suggested(NamedTuple):
    """A stored suggestion of a visible article, as ``suggested`` reads it."""

    id: int
    published_at: datetime
    title: str
    card: str | None
    score: float
    reason: str


def suggested(
    article,
    *,
    limit: int,
    exclude: Iterable[int],
    now: datetime,
    pending: bool | None = None,
    rows: Sequence[Suggested] | None = None,
):
    """``[(card, title, score, reason)]``: visible suggestions for ``article`` (anything with
    an ``id``), best first; each target as its stored card (``cards.CardRow``) and title.

    ``pending``: whether the article's own list was still to be computed, when the caller read
    that (``list_pending``) before this; ``None`` reads it here when the stored list is short.
    ``rows``: the stored suggestions already read for these ``limit`` and ``exclude`` (the
    ``limit + len(exclude)`` best of :func:`suggested_lateral`), instead of reading them here.
    """
    exclude = set(exclude)
    if rows is None:
        params = {"article_id": article.id, "now": now, "limit": limit + len(exclude)}
        rows = read_rows(_suggested_statement(), params)
    found = [row for row in rows if row.id not in exclude]
    if len(found) < limit and (_list_pending(article.id) if pending is None else pending):
        found = _public_ranked_now(article.id, exclude, now)
    rows = [
        (CardRow(row.id, row.published_at, row.card), row.title, round(row.score, 4), row.reason)
        for row in found[:limit]
    ]
    cards.complete([card for card, *_ in rows])
    return rows


def _suggested_of(article_id, now, limit, target) -> sa.Select:
    """The stored suggestions of ``article_id`` whose target (``target``: ``Article`` or an
    alias) is visible at ``now``, best first, at most ``limit``; the columns of ``Suggested``."""
    return (
        sa.select(
            target.id,
            target.published_at,
            target.title,
            StoredCard.card,
            Suggestion.score,
            Suggestion.reason,
        )
        .select_from(target)
        .join(Suggestion, Suggestion.target_id == target.id)
        .outerjoin(StoredCard, current_card(target))
        .where(Suggestion.article_id == article_id, public_condition(now, article=target))
        .order_by(Suggestion.score.desc(), target.id)
        .limit(limit)
    )


@functools.cache
def _suggested_statement() -> sa.Select:
    """Parameters ``article_id``, ``now`` and ``limit``; built once."""
    return _suggested_of(
        sa.bindparam("article_id", type_=sa.Integer),
        sa.bindparam("now", type_=UTCDateTime),
        sa.bindparam("limit", type_=sa.Integer),
        Article,
    )


def suggested_lateral(article_id: sa.ColumnElement[int], now, limit) -> sa.Lateral:
    """``_suggested_statement`` as a ``LATERAL`` subquery of the article ``article_id`` (a
    column of the outer query): its suggestions read in the statement that finds the article
    (``related.locate``, PostgreSQL)."""
    target = aliased(Article, name="suggested_article")
    return _suggested_of(article_id, now, limit, target).lateral("suggested")


def suggestions_for_editor(article: Article, *, limit: int):
    """Every stored suggestion, visible or not, for editors to promote to curated links."""
    query = (
        sa.select(Article, Suggestion.score, Suggestion.reason)
        .join(Suggestion, Suggestion.target_id == Article.id)
        .where(Suggestion.article_id == article.id)
        .order_by(Suggestion.score.desc(), Article.id)
        .limit(limit)
        .options(*CARD_LOADERS)
    )
    rows = [(target, score, reason) for target, score, reason in db.session.execute(query)]
    if len(rows) < limit and _list_pending(article.id):
        ranked = _ranked_now(article.id, set())
        targets = db.session.scalars(
            sa.select(Article).where(Article.id.in_(ranked)).options(*CARD_LOADERS)
        )
        rows = sorted(
            ((target, *ranked[target.id]) for target in targets),
            key=lambda row: (-row[1], row[0].id),
        )
    return [(target, round(score, 4), reason) for target, score, reason in rows[:limit]]


def list_pending(article_id: sa.ColumnElement[int] | int) -> sa.Exists:
    """SQL: the worker has yet to (re)compute the own list of the article ``article_id`` (a
    column of an outer query, or a value)."""
    return sa.exists().where(DerivedJob.article_id == article_id)


def _list_pending(article_id: int) -> bool:
    return bool(db.session.scalar(sa.select(list_pending(article_id))))


def _ranked_now(article_id: int, exclude: set[int]) -> dict[int, tuple[float, str]]:
    """``{target: (score, reason)}``: the list the worker is about to store, ranked now from
    the same stored features, candidates and frequencies -- what a reader sees of a just-saved
    article before its job ran. Nothing is written (a read stays a read)."""
    row = db.session.get(ArticleFeatures, article_id)
    if row is None:
        return {}
    ranked, *_ = _suggest_for(article_id, row.features, _n_docs())
    return {t: (s, r[:300]) for t, s, r in ranked if t not in exclude}


class _Ranked(NamedTuple):
    """A row of :func:`_suggested_statement`, ranked at read time."""

    id: int
    published_at: datetime | None
    title: str
    card: str | None
    score: float
    reason: str


def _public_ranked_now(article_id: int, exclude: set[int], now: datetime) -> list:
    """:func:`_ranked_now` as rows of :func:`_suggested_statement`, public targets only."""
    ranked = _ranked_now(article_id, exclude)
    if not ranked:
        return []
    query = (
        sa.select(Article.id, Article.published_at, Article.title, StoredCard.card)
        .outerjoin(StoredCard, current_card())
        .where(Article.id.in_(ranked), public_condition(now))
    )
    rows = [
        _Ranked(row.id, row.published_at, row.title, row.card, *ranked[row.id])
        for row in read_rows(query)
    ]
    rows.sort(key=lambda row: (-row.score, row.id))
    return rows


# --- write side -------------------------------------------------------------------------------


def _features_of(article: Article) -> scoring.ArticleFeatures:
    return scoring.extract_features(
        title=article.title,
        subtitle=article.subtitle or "",
        text=article.body_text or "",
        tags=[t.slug for t in article.tags],
        section=article.section.slug if article.section else None,
        sources=[s.slug for s in article.sources],
        authors=[a.slug for a in article.authors],
        published_at=_to_the_hour(article.published_at or article.created_at),
        language=article.language or "en",
    )


def _to_the_hour(value: datetime | None) -> datetime | None:
    """Recency works in days: publishing a fresh draft within the hour changes no feature."""
    return value.replace(minute=0, second=0, microsecond=0) if value is not None else None


def _fingerprint(features: scoring.ArticleFeatures) -> str:
    payload = orjson.dumps(features.to_dict(), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def _adjust_df(keys: Iterable[str], delta: int) -> None:
    """Document frequencies of ``keys`` move by ``delta``: noted in the session, added to what
    this transaction reads (:func:`_df_of`) and written when it commits (:func:`_write_df`).

    The rows of common terms are shared by nearly every save; written at the end, they stay
    locked only for the commit, not for the rest of the save (its suggestion list, revision,
    cards), so concurrent saves sharing terms no longer wait on each other for that long."""
    pending = db.session.info.setdefault(_DF_PENDING, Counter())
    for key in set(keys):
        pending[key] += delta


def _df_of(terms: list[str]) -> dict[str, int]:
    """Stored document frequencies of ``terms`` with this transaction's changes, which are
    written only when it commits."""
    df: dict[str, int] = {}
    for chunk in in_chunks(db.session, terms, _CHUNK):
        query = sa.select(TermStat.term, TermStat.df).where(
            in_values(db.session, TermStat.term, chunk)
        )
        df.update((term, n) for term, n in db.session.execute(query))
    wanted = set(terms)
    for term, n in (db.session.info.get(_DF_PENDING) or {}).items():
        if n and term in wanted:
            df[term] = df.get(term, 0) + n
    return df


@sa.event.listens_for(Session, "before_commit")
def _write_df(session: Session) -> None:
    """The document frequency changes of the transaction, one upsert per chunk, terms sorted
    (concurrent writers lock the rows in one order)."""
    if session.in_nested_transaction():
        return  # a savepoint: the enclosing commit writes
    pending = session.info.pop(_DF_PENDING, None)
    _upsert_df(session, {term: n for term, n in (pending or {}).items() if n})


def _upsert_df(session: Session, changes: dict[str, int]) -> None:
    """``df += n`` for each ``term: n``, terms in sorted order (concurrent writers lock the
    rows in one order). One upsert, not select-then-insert: two articles saved at the same
    moment that share a new term would otherwise both insert it (a unique violation, a 500).
    On PostgreSQL one cached statement over two bound arrays, whatever the number of terms;
    elsewhere a VALUES list per chunk of terms."""
    terms = sorted(changes)
    if not terms:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_df_upsert_pg(), {"terms": terms, "dfs": [changes[t] for t in terms]})
        return
    for i in range(0, len(terms), _CHUNK):
        chunk = terms[i : i + _CHUNK]
        insert = upsert(session, TermStat).values([{"term": t, "df": changes[t]} for t in chunk])
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[TermStat.term], set_={"df": TermStat.df + insert.excluded.df}
            )
        )


@functools.cache
def _df_upsert_pg() -> sa.TextClause:
    from sqlalchemy.dialects.postgresql import ARRAY

    return sa.text(
        "INSERT INTO term_stats (term, df) "
        "SELECT * FROM unnest(CAST(:terms AS varchar[]), CAST(:dfs AS integer[])) "
        "ON CONFLICT (term) DO UPDATE SET df = term_stats.df + excluded.df"
    ).bindparams(
        sa.bindparam("terms", type_=ARRAY(sa.String)),
        sa.bindparam("dfs", type_=ARRAY(sa.Integer)),
    )


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_df(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DF_PENDING, None)


def _store_features(
    article: Article, features: scoring.ArticleFeatures, *, new: bool = False
) -> bool:
    """Store features, index keys and document frequencies; False when nothing changed.
    ``new``: the article was inserted by this transaction, so none are stored yet.

    With the semantic backend the article's embedding is stored beside its features, so it
    too is computed once per revision.
    """
    fingerprint = _fingerprint(features)
    if new and db.session.get_bind().dialect.name == "postgresql":
        # The row and its index keys in one statement built once (no flush of its own).
        parameters = {
            "article_id": article.id,
            "fingerprint": fingerprint,
            "features": features.to_dict(),
            "computed_at": utcnow(),
            "keys": sorted(set(scoring.candidate_keys(features))),
        }
        db.session.execute(_new_features_pg(), parameters)
        _adjust_df(scoring.df_keys(features), +1)
        return True
    row = None if new else db.session.get(ArticleFeatures, article.id)
    if row is not None and row.fingerprint == fingerprint:
        return False
    if row is not None:
        old = scoring.ArticleFeatures.from_dict(row.features)
        _adjust_df(scoring.df_keys(old), -1)
        db.session.execute(sa.delete(FeatureKey).where(FeatureKey.article_id == article.id))
        row.features, row.fingerprint = features.to_dict(), fingerprint
    else:
        db.session.add(
            ArticleFeatures(
                article_id=article.id, features=features.to_dict(), fingerprint=fingerprint
            )
        )
    _adjust_df(scoring.df_keys(features), +1)
    keys = sorted(set(scoring.candidate_keys(features)))
    if not keys:
        return True
    if db.session.get_bind().dialect.name == "postgresql":
        # One cached statement over a bound array, not a VALUES list rendered per key.
        db.session.execute(_keys_insert_pg(), {"keys": keys, "article_id": article.id})
    else:
        db.session.execute(
            sa.insert(FeatureKey), [{"key": k, "article_id": article.id} for k in keys]
        )
    return True


@functools.cache
def _new_features_pg() -> sa.Insert:
    """A new article's features row and index keys; parameters ``article_id``,
    ``fingerprint``, ``features``, ``computed_at`` and ``keys`` (an array)."""
    from sqlalchemy.dialects.postgresql import ARRAY

    table, keys = ArticleFeatures.__table__, FeatureKey.__table__
    article_id = sa.bindparam("article_id", type_=table.c.article_id.type)
    stored = (
        sa.insert(table)
        .values(
            article_id=article_id,
            fingerprint=sa.bindparam("fingerprint", type_=table.c.fingerprint.type),
            features=sa.bindparam("features", type_=table.c.features.type),
            computed_at=sa.bindparam("computed_at", type_=table.c.computed_at.type),
        )
        .cte("stored")
    )
    unnested = sa.func.unnest(sa.bindparam("keys", type_=ARRAY(keys.c.key.type)))
    return (
        sa.insert(keys)
        .from_select([keys.c.key, keys.c.article_id], sa.select(unnested, article_id))
        .add_cte(stored)
    )


@functools.cache
def _keys_insert_pg() -> sa.TextClause:
    from sqlalchemy.dialects.postgresql import ARRAY

    return sa.text(
        "INSERT INTO feature_keys (key, article_id) "
        "SELECT unnest(CAST(:keys AS varchar[])), :article_id"
    ).bindparams(
        sa.bindparam("keys", type_=ARRAY(sa.String)),
        sa.bindparam("article_id", type_=sa.Integer),
    )


def _idf_for(features_list: list[scoring.ArticleFeatures]) -> tuple[scoring.Idf, int]:
    n_docs = db.session.scalar(sa.select(sa.func.count()).select_from(ArticleFeatures)) or 1
    wanted = set()
    for f in features_list:
        wanted |= scoring.df_keys(f)
    return scoring.make_idf(_df_of(sorted(wanted)), n_docs), n_docs


def _common_keys(keys: list[str], n_docs: int) -> set[str]:
    """Keys held by too many articles to find candidates with (they still count in the score)."""
    limit = max(COMMON_KEY_MIN_DF, n_docs * COMMON_KEY_SHARE)
    stat_of = {scoring.df_key(k): k for k in keys}
    df = _df_of(sorted(stat_of))
    return {key for term, key in stat_of.items() if df.get(term, 0) > limit}


def _candidate_ids(article_id: int, features: scoring.ArticleFeatures, n_docs: int):
    """Articles sharing the most index keys (tags, names, the article's distinctive terms)."""
    keys = scoring.candidate_keys(features)
    if not keys:
        return []
    common = _common_keys(keys, n_docs)
    keys = [k for k in keys if k not in common]
    if not keys:
        return []
    shared = sa.func.count(FeatureKey.key)
    return db.session.scalars(
        sa.select(FeatureKey.article_id)
        .where(in_values(db.session, FeatureKey.key, keys), FeatureKey.article_id != article_id)
        .group_by(FeatureKey.article_id)
        .order_by(shared.desc(), FeatureKey.article_id.desc())
        .limit(MAX_CANDIDATES)
    ).all()


def _recent_ids(article_id: int, now: datetime) -> list[int]:
    """The newest public articles: always scored, so a young site fills every list."""
    return db.session.scalars(
        sa.select(Article.id)
        .where(public_condition(now), Article.id != article_id)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(RECENT_CANDIDATES)
    ).all()


def _neighbour_ids(article_id: int, embedding: Sequence[float] | None) -> list[int]:
    """Nearest stored embeddings among the newest ``EMBEDDING_WINDOW`` (semantic backend)."""
    if embedding is None:
        return []
    rows = db.session.execute(
        sa.select(ArticleEmbedding.article_id, ArticleEmbedding.vector)
        .where(
            ArticleEmbedding.model == embeddings.MODEL_NAME,
            ArticleEmbedding.article_id != article_id,
        )
        .order_by(ArticleEmbedding.article_id.desc())
        .limit(EMBEDDING_WINDOW)
    ).all()
    return [aid for aid, _ in embeddings.nearest(embedding, rows, NEIGHBOURS)]


def _stored_embeddings(ids: Iterable[int]) -> dict[int, Sequence[float]]:
    ids = sorted(set(ids))
    found: dict[int, list[float]] = {}
    for i in range(0, len(ids), _CHUNK):
        rows = db.session.execute(
            sa.select(ArticleEmbedding.article_id, ArticleEmbedding.vector).where(
                ArticleEmbedding.article_id.in_(ids[i : i + _CHUNK]),
                ArticleEmbedding.model == embeddings.MODEL_NAME,
            )
        )
        found.update((aid, embeddings.from_bytes(vector)) for aid, vector in rows)
    return found


def _candidates(
    article_id: int,
    features: scoring.ArticleFeatures,
    n_docs: int,
    embedding: Sequence[float] | None = None,
):
    """``[(id, features, embedding or None)]`` of every article worth scoring against this one.

    The union of three cheap lookups: articles sharing index keys, the nearest stored
    embeddings (semantic backend) and the newest public articles.
    """
    ids = list(
        dict.fromkeys(
            [
                *_candidate_ids(article_id, features, n_docs),
                *_neighbour_ids(article_id, embedding),
                *_recent_ids(article_id, utcnow()),
            ]
        )
    )
    rows = []
    for chunk in in_chunks(db.session, ids, _CHUNK):
        rows += db.session.execute(
            sa.select(ArticleFeatures.article_id, ArticleFeatures.features).where(
                in_values(db.session, ArticleFeatures.article_id, chunk)
            )
        ).all()
    vectors = _stored_embeddings(aid for aid, _ in rows) if embedding is not None else {}
    rows.sort(key=lambda row: row[0])
    return [(aid, scoring.ArticleFeatures.from_dict(data), vectors.get(aid)) for aid, data in rows]


def _semantic() -> bool:
    return current_app.config.get("CMS_RELATED_BACKEND") == "semantic"


def _embedding_of(article_id: int) -> Sequence[float] | None:
    if not _semantic():
        return None
    row = db.session.get(ArticleEmbedding, article_id)
    if row is None or row.model != embeddings.MODEL_NAME:
        return None
    return embeddings.from_bytes(row.vector)


def store_embedding(article_id: int) -> bool:
    """Embed the article's text and store it unless that exact text is stored; True if stored.

    Plain service function (semantic backend only): the save calls it today, a background job
    can call it with the id alone.
    """
    if not _semantic():
        return False
    article = db.session.get(Article, article_id)
    if article is None:
        return False
    text = embeddings.article_text(article.title, article.subtitle or "", article.body_text or "")
    fingerprint = embeddings.fingerprint(text)
    row = db.session.get(ArticleEmbedding, article_id)
    if row is not None and row.fingerprint == fingerprint:
        return False
    vector = embeddings.embed([text])[0]
    if row is None:
        row = ArticleEmbedding(article_id=article_id)
        db.session.add(row)
    row.model, row.fingerprint, row.dim = embeddings.MODEL_NAME, fingerprint, len(vector)
    row.vector, row.computed_at = embeddings.to_bytes(vector), utcnow()
    db.session.flush()
    return True


def _rank(features, embedding, candidates, embedding_of, idf) -> list[tuple[int, float, str]]:
    """Score candidates (lexical + editorial, blended with embeddings when configured)."""
    if embedding is None:
        return scoring.rank(features, candidates, idf, STORED_PER_ARTICLE)
    scored = []
    for candidate_id, other in candidates:
        value, reason = embeddings.score_semantic(
            features, other, embedding, embedding_of.get(candidate_id), idf
        )
        scored.append((candidate_id, value, reason))
    scored.sort(key=lambda row: (-row[1], row[0]))
    return scored[:STORED_PER_ARTICLE]


def _replace_stored(article_id: int, ranked: list[tuple[int, float, str]]) -> None:
    db.session.execute(sa.delete(Suggestion).where(Suggestion.article_id == article_id))
    rows = [
        {"article_id": article_id, "target_id": t, "score": s, "reason": r[:300]}
        for t, s, r in ranked
    ]
    if rows:
        db.session.execute(sa.insert(Suggestion), rows)


def _offer(article_id: int, offers: list[tuple[int, float, str]]) -> None:
    """Put ``article_id`` into each candidate's stored list where it ranks there.

    ``offers`` holds ``(candidate_id, score, reason)``. Four statements whatever their number:
    drop the article's old entries, insert it where it beats the weakest entry of a full list
    (or the list has room), then trim every touched list back to its best entries.
    """
    candidate_ids = [candidate_id for candidate_id, _, _ in offers]
    if not candidate_ids:
        return
    db.session.execute(
        sa.delete(Suggestion).where(
            Suggestion.article_id.in_(candidate_ids), Suggestion.target_id == article_id
        )
    )
    lists = {
        candidate_id: (size, weakest)
        for candidate_id, size, weakest in db.session.execute(
            sa.select(Suggestion.article_id, sa.func.count(), sa.func.min(Suggestion.score))
            .where(Suggestion.article_id.in_(candidate_ids))
            .group_by(Suggestion.article_id)
        )
    }
    rows = []
    for candidate_id, score, reason in offers:
        size, weakest = lists.get(candidate_id, (0, 0.0))
        if size < STORED_PER_ARTICLE or score > weakest:
            rows.append(
                {
                    "article_id": candidate_id,
                    "target_id": article_id,
                    "score": score,
                    "reason": reason[:300],
                }
            )
    if not rows:
        return
    db.session.execute(sa.insert(Suggestion), rows)
    _trim_lists({row["article_id"] for row in rows})


def _suggest_for(article_id: int, stored: dict, n_docs: int):
    """Rank the candidates of one article; returns the ranking and what it was made from."""
    features = scoring.ArticleFeatures.from_dict(stored)
    embedding = _embedding_of(article_id)
    found = _candidates(article_id, features, n_docs, embedding)
    candidates = [(aid, f) for aid, f, _ in found]
    embedding_of = {aid: emb for aid, _, emb in found}
    idf, _ = _idf_for([features] + [f for _, f in candidates])
    ranked = _rank(features, embedding, candidates, embedding_of, idf)
    return ranked, features, embedding, found, idf


def _n_docs() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ArticleFeatures)) or 1


def refresh_suggestions(
    article_id: int, *, guarded: bool = True
) -> list[tuple[int, float, str]] | None:
    """Recompute the article's own stored suggestions; None if it has no features.

    With the semantic backend its embedding is stored first (:func:`store_embedding`). Then it
    offers itself to the lists of the articles it was compared with, so theirs are current
    too. Plain service function of the article id, run by the worker after the save's commit
    (``cms.services.derived.jobs``). ``guarded=False`` lets a deadlock propagate (the job is then
    retried whole) instead of skipping the offer.
    """
    row = db.session.get(ArticleFeatures, article_id)
    if row is None:
        return None
    store_embedding(article_id)
    ranked, features, embedding, found, idf = _suggest_for(article_id, row.features, _n_docs())
    _replace_stored(article_id, ranked)
    offers = []
    for candidate_id, other, other_embedding in found:
        value, reason = _rank(
            other, other_embedding, [(article_id, features)], {article_id: embedding}, idf
        )[0][1:]
        offers.append((candidate_id, value, reason))
    if guarded:
        _offer_guarded(article_id, offers)
    else:
        _offer(article_id, offers)
    return ranked


def update_article_suggestions(article: Article, *, new: bool = False) -> None:
    """On save (after a flush): store the article's features; if they changed, record a job
    (:func:`enqueue`) in this same transaction for the rest. ``new``: the article was inserted
    by this transaction (it has no features yet).

    The worker (``cms.services.derived.jobs``) then runs :func:`refresh_suggestions` within
    seconds: the article's own list, its offers to the lists of other articles and, with the
    semantic backend, its embedding. Until it has, the public ``/related`` and the editors'
    suggestions rank the article's list at read time (:func:`suggested`), so a reader sees it
    the moment the save answers.
    """
    changed = _store_features(article, _features_of(article), new=new)
    if changed or (_semantic() and db.session.get(ArticleEmbedding, article.id) is None):
        enqueue([article.id])


def update_after_publish(article: Article, published_before: datetime | None) -> None:
    """On a workflow action that moved the publication time: the features hold that time to
    the hour only (:func:`_to_the_hour`), and nothing else of the article changed, so when the
    hour is the same and the features are stored they are current: nothing to extract, store
    or enqueue (what :func:`update_article_suggestions` would find, at the cost of extracting
    the features again)."""
    same_hour = _to_the_hour(published_before or article.created_at) == _to_the_hour(
        article.published_at or article.created_at
    )
    if same_hour and not _semantic() and _has_features(article.id):
        return
    update_article_suggestions(article)


def _has_features(article_id: int) -> bool:
    """Whether the article's features are stored (without reading them)."""
    if db.session.identity_map.get(Session.identity_key(ArticleFeatures, article_id)):
        return True
    return db.session.scalar(_has_features_statement(), {"article_id": article_id}) is not None


@functools.cache
def _has_features_statement() -> sa.Select:
    """:func:`_has_features`' statement, built once; parameter ``article_id``."""
    return sa.select(ArticleFeatures.article_id).where(
        ArticleFeatures.article_id == sa.bindparam("article_id")
    )


def update_features(article: Article) -> bool:
    """Store the article's features if they changed (a job's first step); True if they did."""
    return _store_features(article, _features_of(article))


def enqueue(article_ids: Iterable[int]) -> None:
    """Record that these articles' derived data are due (one row each, in the caller's
    transaction): a row already waiting gets a new ``version``, so a worker running the older
    one leaves it for another round."""
    ids = sorted(set(article_ids))
    if not ids:
        return
    now = utcnow()
    # One statement with many parameter sets (built once, whatever the number of ids).
    db.session.execute(
        _enqueue_statement(db.session),
        [{"article_id": a, "version": 1, "enqueued_at": now, "attempts": 0} for a in ids],
    )


_ENQUEUE: dict[str, sa.Insert] = {}


def _enqueue_statement(session) -> sa.Insert:
    """:func:`enqueue`'s upsert, built once per dialect."""
    dialect = session.get_bind().dialect.name
    statement = _ENQUEUE.get(dialect)
    if statement is None:
        table = DerivedJob.__table__
        statement = _ENQUEUE[dialect] = upsert(session, table).on_conflict_do_update(
            index_elements=[table.c.article_id], set_={"version": table.c.version + 1}
        )
    return statement


def _offer_guarded(article_id: int, offers: list[tuple[int, float, str]]) -> None:
    """Offer the article to other lists without letting a lock conflict fail the save.

    Two saves at the same moment may trim the same candidate lists in different orders; on
    PostgreSQL the loser of such a deadlock gives up only this step (a savepoint), so the
    write itself succeeds and those lists pick the article up at their next recomputation.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        _offer(article_id, offers)  # SQLite serialises writers: no deadlock possible
        return
    try:
        with db.session.begin_nested():
            _offer(article_id, offers)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in ("40P01", "40001"):
            raise
        log.warning("suggestion lists not updated for article %s: %s", article_id, exc.orig)


def rebuild_all() -> int:
    """Recompute everything (CLI ``rebuild related``); returns the number of articles.

    With the semantic backend, embeddings whose text did not change are kept, not recomputed.
    """
    for model in (Suggestion, FeatureKey, TermStat, ArticleFeatures, DerivedJob):
        db.session.execute(sa.delete(model))
    ids = db.session.scalars(sa.select(Article.id).order_by(Article.id)).all()
    for article_id in ids:
        article = db.session.get(Article, article_id)
        _store_features(article, _features_of(article))
        store_embedding(article_id)
    for article_id in ids:
        stored = db.session.get(ArticleFeatures, article_id).features
        ranked, *_ = _suggest_for(article_id, stored, len(ids))
        _replace_stored(article_id, ranked)
    return len(ids)


# --- many new articles at once (bulk import) ---------------------------------------------------


def _add_df(counts: dict[str, int]) -> None:
    """``df += n`` for each ``term: n`` (:func:`_upsert_df`)."""
    _upsert_df(db.session, counts)


def _offer_many(offers: list[tuple[int, int, float, str]]) -> None:
    """:func:`_offer` for many articles: ``(candidate_id, article_id, score, reason)`` rows."""
    rows = [
        {"article_id": c, "target_id": a, "score": s, "reason": r[:300]}
        for c, a, s, r in offers
        if s > 0
    ]
    if not rows:
        return
    pairs = sorted({(row["article_id"], row["target_id"]) for row in rows})
    for i in range(0, len(pairs), _CHUNK):
        db.session.execute(
            sa.delete(Suggestion).where(
                sa.tuple_(Suggestion.article_id, Suggestion.target_id).in_(pairs[i : i + _CHUNK])
            )
        )
    db.session.execute(sa.insert(Suggestion), rows)
    _trim_lists({row["article_id"] for row in rows})


def _trim_lists(article_ids: Iterable[int]) -> None:
    """Keep the best ``STORED_PER_ARTICLE`` entries of each of these articles' lists."""
    touched = sorted(article_ids)
    for i in range(0, len(touched), _CHUNK):
        ranked = (
            sa.select(
                Suggestion.article_id,
                Suggestion.target_id,
                sa.func.row_number()
                .over(
                    partition_by=Suggestion.article_id,
                    order_by=(Suggestion.score.desc(), Suggestion.target_id.asc()),
                )
                .label("place"),
            )
            .where(Suggestion.article_id.in_(touched[i : i + _CHUNK]))
            .subquery()
        )
        overflow = sa.select(ranked.c.article_id, ranked.c.target_id).where(
            ranked.c.place > STORED_PER_ARTICLE
        )
        db.session.execute(
            sa.delete(Suggestion).where(
                sa.tuple_(Suggestion.article_id, Suggestion.target_id).in_(overflow)
            )
        )


def update_batch(articles: list[Article]) -> None:
    """Features and suggestions of new articles (flushed, never saved before), as if each
    had been saved in turn: every article gets its own ranked list, and is offered to the
    lists of the articles it would rank in, new and old alike."""
    if not articles:
        return
    features = {a.id: _features_of(a) for a in articles}
    vectors: dict[int, Sequence[float]] = {}
    if _semantic():
        texts = [
            embeddings.article_text(a.title, a.subtitle or "", a.body_text or "") for a in articles
        ]
        vectors = dict(zip([a.id for a in articles], embeddings.embed(texts), strict=True))
        db.session.execute(
            sa.delete(ArticleEmbedding).where(ArticleEmbedding.article_id.in_(vectors))
        )
        db.session.execute(
            sa.insert(ArticleEmbedding),
            [
                {
                    "article_id": a.id,
                    "model": embeddings.MODEL_NAME,
                    "fingerprint": embeddings.fingerprint(text),
                    "dim": len(vectors[a.id]),
                    "vector": embeddings.to_bytes(vectors[a.id]),
                    "computed_at": utcnow(),
                }
                for a, text in zip(articles, texts, strict=True)
            ],
        )
    stored = {}
    df: dict[str, int] = {}
    keys = []
    for article_id, f in features.items():
        data = f.to_dict()
        stored[article_id] = data
        for term in scoring.df_keys(f):
            df[term] = df.get(term, 0) + 1
        keys += [
            {"key": k, "article_id": article_id} for k in sorted(set(scoring.candidate_keys(f)))
        ]
    db.session.execute(
        sa.insert(ArticleFeatures),
        [
            {"article_id": i, "features": stored[i], "fingerprint": _fingerprint(f)}
            for i, f in features.items()
        ],
    )
    if keys:
        db.session.execute(sa.insert(FeatureKey), keys)
    _add_df(df)
    n_docs = db.session.scalar(sa.select(sa.func.count()).select_from(ArticleFeatures)) or 1
    # One snapshot for the batch: each article's candidates, the features of all of them
    # parsed once, and one idf over every key involved (the state after the whole batch).
    found = {i: _candidate_ids(i, f, n_docs) for i, f in features.items()}
    known = dict(features)
    embedding_of: dict[int, Sequence[float] | None] = dict(vectors)
    wanted = sorted({c for ids in found.values() for c in ids} - known.keys())
    for start in range(0, len(wanted), _CHUNK):
        rows = db.session.execute(
            sa.select(ArticleFeatures.article_id, ArticleFeatures.features).where(
                ArticleFeatures.article_id.in_(wanted[start : start + _CHUNK])
            )
        )
        for aid, data in rows:
            known[aid] = scoring.ArticleFeatures.from_dict(data)
    if vectors:
        embedding_of.update(_stored_embeddings(set(known) - vectors.keys()))
    idf, _ = _idf_for(list(known.values()))
    suggestions, offers = [], []
    for article_id, own in features.items():
        candidates = [(c, known[c]) for c in found[article_id] if c in known]
        mine = embedding_of.get(article_id)
        for target, value, reason in _rank(own, mine, candidates, embedding_of, idf):
            suggestions.append((article_id, target, value, reason))
        for candidate_id, other in candidates:
            value, reason = _rank(
                other, embedding_of.get(candidate_id), [(article_id, own)], {article_id: mine}, idf
            )[0][1:]
            offers.append((candidate_id, article_id, value, reason))
    rows = [
        {"article_id": a, "target_id": t, "score": v, "reason": r[:300]}
        for a, t, v, r in suggestions
        if v > 0
    ]
    if rows:
        db.session.execute(sa.insert(Suggestion), rows)
    _offer_many(offers)
