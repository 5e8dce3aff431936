"""Stored material for suggested related articles, computed on write and read cheaply."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.clock import utcnow
from cms.extensions import db
from cms.models.types import JSONType, UTCDateTime


class ArticleFeatures(db.Model):
    """An article's similarity features, computed once per revision of its content."""

    __tablename__ = "article_features"
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    features: Mapped[dict] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeatureKey(db.Model):
    """Inverted index from a feature key (tag, entity, rare term) to the articles having it."""

    __tablename__ = "feature_keys"
    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TermStat(db.Model):
    """Document frequency of a term over the articles that have features."""

    __tablename__ = "term_stats"
    term: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    df: Mapped[int] = mapped_column(default=0)


class ArticleEmbedding(db.Model):
    """An article's sentence embedding (semantic backend), computed once per text revision.

    ``vector`` holds ``dim`` little-endian float32 values, L2-normalised; ``fingerprint`` is a
    hash of the model name and the embedded text, so an unchanged text is never re-embedded.
    """

    __tablename__ = "article_embeddings"
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(sa.String(80))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suggestion(db.Model):
    """A precomputed "related article" suggestion from ``article_id`` to ``target_id``."""

    __tablename__ = "related_suggestions"
    __table_args__ = (sa.Index("ix_related_suggestions_rank", "article_id", "score"),)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[float] = mapped_column(sa.Float)
    reason: Mapped[str] = mapped_column(sa.String(300))


class DerivedJob(db.Model):
    """An article whose derived data (its embedding, its offer to other articles' suggestion
    lists) is still to be computed by the worker; written in the save's own transaction.

    One row per article: saving it again while the row waits only bumps ``version``. A worker
    leases rows (``lease_token``, ``lease_until``) and deletes a row in the commit that stores
    its work, if ``version`` is still the one it leased; a killed worker's lease expires.
    """

    __tablename__ = "derived_jobs"
    article_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(default=1)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
