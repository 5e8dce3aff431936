"""Articles and what hangs off them: taxonomy links, summary, curated related links, old slugs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.clock import utcnow
from cms.extensions import db
from cms.models.taxonomy import Author, Section, Source, Tag
from cms.models.types import JSONType, UTCDateTime
from cms.text import reading_seconds

# ``taken_down``: removed from public view by an admin (``cms.services.distribution.takedowns``);
# only an admin's revoke leaves it, back to the status it had.
STATUSES = ("draft", "in_review", "scheduled", "published", "archived", "taken_down")
# What an editor writes (and a revision snapshots); everything else is derived or workflow.
CONTENT_FIELDS = (
    "title",
    "subtitle",
    "slug",
    "section",
    "tags",
    "authors",
    "sources",
    "language",
    "hero_image",
    "canonical_url",
    "excerpt",
    "body",
)

# ``listed_at`` on the link tables: the article's ``published_at`` while its status is public,
# else NULL (``cms.services.visibility.listed_at``), kept by ``cms.services.public.counts``.
# With it the index (tag_id, listed_at, article_id) holds a tag's articles in publication order.
article_tags = sa.Table(
    "article_tags",
    db.metadata,
    sa.Column("article_id", sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("listed_at", UTCDateTime),
    sa.Index("ix_article_tags_tag_listed", "tag_id", "listed_at", "article_id"),
)


class ArticleAuthor(db.Model):
    __tablename__ = "article_authors"
    __table_args__ = (
        sa.Index("ix_article_authors_author_listed", "author_id", "listed_at", "article_id"),
    )
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    author_id: Mapped[int] = mapped_column(
        sa.ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # see article_tags
    author: Mapped[Author] = relationship(lazy="joined")


class ArticleSource(db.Model):
    """A source the article cites: listed by the editor (``explicit``) or named by a block."""

    __tablename__ = "article_sources"
    __table_args__ = (
        sa.Index("ix_article_sources_source_listed", "source_id", "listed_at", "article_id"),
    )
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sources.id", ondelete="RESTRICT"), primary_key=True
    )
    explicit: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # see article_tags
    source: Mapped[Source] = relationship(lazy="joined")


class Article(db.Model):
    __tablename__ = "articles"
    __table_args__ = (
        # Public order and keyset pagination: (published_at, id).
        sa.Index("ix_articles_published_at_id", "published_at", "id"),
        sa.Index("ix_articles_section_published", "section_id", "published_at", "id"),
        # Status filters; the articles still to come per section, from the index alone.
        sa.Index("ix_articles_status_published", "status", "published_at", "section_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(200), unique=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    subtitle: Mapped[str] = mapped_column(sa.Text, default="")
    section_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("sections.id", ondelete="RESTRICT")
    )
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hero_image: Mapped[dict | None] = mapped_column(JSONType)
    canonical_url: Mapped[str | None] = mapped_column(sa.String(2000))
    custom_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    excerpt: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[list] = mapped_column(JSONType, default=list)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    word_count: Mapped[int] = mapped_column(default=0)
    reading_time_minutes: Mapped[int] = mapped_column(default=0)
    # Bumped on every change (optimistic concurrency); body_revision only when the body changes.
    version: Mapped[int] = mapped_column()
    # SQLAlchemy checks and bumps ``version`` on every UPDATE: of two concurrent writers with
    # the same version exactly one succeeds, on any database.
    __mapper_args__ = {"version_id_col": version}
    body_revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    section: Mapped[Section | None] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(
        secondary=article_tags, order_by=Tag.slug, lazy="selectin"
    )
    author_links: Mapped[list[ArticleAuthor]] = relationship(
        order_by=ArticleAuthor.position, cascade="all, delete-orphan", lazy="selectin"
    )
    source_links: Mapped[list[ArticleSource]] = relationship(
        order_by=(ArticleSource.position, ArticleSource.source_id),
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    summary: Mapped[Summary | None] = relationship(
        back_populates="article", cascade="all, delete-orphan", lazy="select", uselist=False
    )
    related_links: Mapped[list[RelatedLink]] = relationship(
        foreign_keys="RelatedLink.article_id",
        order_by="RelatedLink.position",
        cascade="all, delete-orphan",
        lazy="select",
    )

    # What readers see of the corrections log (``cms.models.distribution.Correction``).
    corrections: Mapped[list[Correction]] = relationship(  # noqa: F821
        "Correction",
        primaryjoin="and_(Correction.article_id == Article.id, Correction.hidden_at.is_(None))",
        order_by="Correction.id",
        viewonly=True,
        lazy="select",
    )

    @property
    def authors(self) -> list[Author]:
        return [link.author for link in self.author_links]

    @property
    def sources(self) -> list[Source]:
        """Every source the article cites, listed ones first."""
        return [link.source for link in self.source_links]

    @property
    def explicit_sources(self) -> list[Source]:
        return [link.source for link in self.source_links if link.explicit]

    def effective_status(self, now: datetime) -> str:
        """``scheduled`` reads as ``published`` once its time has come; no job needs to run."""
        if self.status == "scheduled" and self.published_at and self.published_at <= now:
            return "published"
        return self.status


class Summary(db.Model):
    """The "No time to read?" summary; one per article, written by an editor or generated."""

    __tablename__ = "summaries"
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tldr: Mapped[str] = mapped_column(sa.Text)
    key_points: Mapped[list] = mapped_column(JSONType, default=list)
    origin: Mapped[str] = mapped_column(sa.String(16))  # "editor" | "auto"
    source_revision: Mapped[int] = mapped_column()
    approved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    article: Mapped[Article] = relationship(back_populates="summary")

    @property
    def stale(self) -> bool:
        """An editor's summary made from an older body than the current one."""
        return self.origin == "editor" and self.source_revision != self.article.body_revision

    @property
    def article_revision(self) -> int:
        return self.article.body_revision

    @property
    def reading_time_seconds(self) -> int:
        words = len(self.tldr.split()) + sum(len(p["text"].split()) for p in self.key_points)
        return reading_seconds(words)


class RelatedLink(db.Model):
    """An editor's curated link: to another article or to an external URL."""

    __tablename__ = "related_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    target_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    title: Mapped[str | None] = mapped_column(sa.String(500))
    label: Mapped[str | None] = mapped_column(sa.String(100))

    target: Mapped[Article | None] = relationship(foreign_keys=[target_id], lazy="joined")


class SlugRedirect(db.Model):
    """An article's former slug; public reads of it answer 301 to the current one."""

    __tablename__ = "slug_redirects"
    old_slug: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredCard(db.Model):
    """An article's public card (list item) as JSON, built when the article or what its card
    shows changes (``cms.services.public.cards``).

    Valid while ``article_version`` equals the article's ``version``; reads build the card
    themselves when it is missing or stale.
    """

    __tablename__ = "article_cards"
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    article_version: Mapped[int] = mapped_column()
    card: Mapped[str] = mapped_column(sa.Text)
