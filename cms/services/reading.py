"""What the public read API serves. Every query starts from ``visibility.public_articles``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from cms.clock import utcnow
from cms.errors import NotFound
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    RelatedLink,
    Section,
    SlugRedirect,
    Source,
    Tag,
    article_tags,
)
from cms.pagination import Page, encode_cursor
from cms.services.loaders import CARD_LOADERS
from cms.services.visibility import is_public, public_articles, public_condition


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


@dataclass
class RelatedView:
    previous: Article | None
    next: Article | None
    related: list[dict] = field(default_factory=list)


def _id_for(model, slug: str) -> int | None:
    return db.session.scalar(sa.select(model.id).where(model.slug == slug))


def _filtered(query: sa.Select, filters: dict) -> sa.Select | None:
    """Apply list filters; ``None`` when a filter names something that does not exist."""
    if "section" in filters:
        section_id = _id_for(Section, filters["section"])
        if section_id is None:
            return None
        query = query.where(Article.section_id == section_id)
    if "tag" in filters:
        tag_id = _id_for(Tag, filters["tag"])
        if tag_id is None:
            return None
        query = query.where(
            sa.exists().where(
                article_tags.c.article_id == Article.id, article_tags.c.tag_id == tag_id
            )
        )
    if "author" in filters:
        author_id = _id_for(Author, filters["author"])
        if author_id is None:
            return None
        query = query.where(
            sa.exists().where(
                ArticleAuthor.article_id == Article.id, ArticleAuthor.author_id == author_id
            )
        )
    if "source" in filters:
        source_id = _id_for(Source, filters["source"])
        if source_id is None:
            return None
        query = query.where(
            sa.exists().where(
                ArticleSource.article_id == Article.id, ArticleSource.source_id == source_id
            )
        )
    if "language" in filters:
        query = query.where(Article.language == filters["language"])
    if "published_after" in filters:
        query = query.where(Article.published_at > filters["published_after"])
    if "published_before" in filters:
        query = query.where(Article.published_at < filters["published_before"])
    return query


def list_articles(
    filters: dict,
    *,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
    now: datetime | None = None,
) -> Page:
    """Newest first, keyset-paginated on ``(published_at, id)``."""
    now = now or utcnow()
    query = _filtered(public_articles(now), filters)
    if query is None:
        return Page(items=[], limit=limit, total=0 if count else None)
    total = None
    if count:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    if cursor:
        query = query.where(sa.tuple_(Article.published_at, Article.id) < sa.tuple_(*cursor))
    query = query.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(query.options(*CARD_LOADERS)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].published_at, rows[-1].id])
    return Page(items=rows, limit=limit, next_cursor=next_cursor, total=total)


def find_article(slug: str, now: datetime | None = None) -> Article | Moved:
    """The visible article with ``slug``, or where a former slug moved to; else NotFound."""
    now = now or utcnow()
    query = (
        public_articles(now)
        .where(Article.slug == slug)
        .options(*CARD_LOADERS, selectinload(Article.summary))
    )
    article = db.session.scalars(query).first()
    if article is not None:
        return article
    redirect = db.session.get(SlugRedirect, slug)
    if redirect is not None:
        target = db.session.get(Article, redirect.article_id)
        if target is not None and is_public(target, now):
            return Moved(target.slug)
    raise NotFound("There is no published article with this slug.")


def neighbours(article: Article, *, scope: str = "site", now: datetime | None = None):
    """``(previous, next)``: the visible articles just before and after in publication order."""
    now = now or utcnow()
    key = sa.tuple_(Article.published_at, Article.id)
    here = sa.tuple_(
        sa.literal(article.published_at, Article.published_at.type), sa.literal(article.id)
    )
    base = public_articles(now)
    if scope == "section":
        if article.section_id is None:
            return None, None
        base = base.where(Article.section_id == article.section_id)
    previous = db.session.scalars(
        base.where(key < here).order_by(Article.published_at.desc(), Article.id.desc()).limit(1)
    ).first()
    following = db.session.scalars(
        base.where(key > here).order_by(Article.published_at.asc(), Article.id.asc()).limit(1)
    ).first()
    return previous, following


def article_page(article: Article, now: datetime | None = None) -> ArticleView:
    previous, following = neighbours(article, now=now)
    return ArticleView(article, previous=previous, next=following)


def related(
    article: Article, *, limit: int, scope: str = "site", now: datetime | None = None
) -> RelatedView:
    """Curated links first (only to visible articles), then suggestions, up to ``limit``."""
    now = now or utcnow()
    previous, following = neighbours(article, scope=scope, now=now)
    items: list[dict] = []
    links = db.session.scalars(
        sa.select(RelatedLink)
        .where(RelatedLink.article_id == article.id)
        .order_by(RelatedLink.position)
    ).all()
    target_ids = [link.target_id for link in links if link.target_id is not None]
    targets = {}
    if target_ids:
        targets = {
            a.id: a
            for a in db.session.scalars(
                public_articles(now).where(Article.id.in_(target_ids)).options(*CARD_LOADERS)
            )
        }
    for link in links:
        if link.target_id is not None:
            target = targets.get(link.target_id)
            if target is None:
                continue
            items.append(
                {
                    "kind": "curated",
                    "article": target,
                    "url": None,
                    "title": link.title or target.title,
                    "label": link.label,
                    "score": None,
                    "reason": None,
                }
            )
        else:
            items.append(
                {
                    "kind": "curated",
                    "article": None,
                    "url": link.url,
                    "title": link.title,
                    "label": link.label,
                    "score": None,
                    "reason": None,
                }
            )
    items = items[:limit]
    if len(items) < limit:
        from cms.services import suggestions

        exclude = {article.id, *targets}
        for target, score, reason in suggestions.suggested(
            article, limit=limit - len(items), exclude=exclude, now=now
        ):
            items.append(
                {
                    "kind": "suggested",
                    "article": target,
                    "url": None,
                    "title": target.title,
                    "label": None,
                    "score": score,
                    "reason": reason,
                }
            )
    return RelatedView(previous=previous, next=following, related=items)


# --- taxonomies -------------------------------------------------------------------------------


def _count_query(kind: str, now: datetime):
    """``SELECT entity, count(visible articles)`` for one taxonomy."""
    visible = public_condition(now)
    if kind == "sections":
        model = Section
        joined = sa.select(model, sa.func.count(Article.id)).outerjoin(
            Article, sa.and_(Article.section_id == Section.id, visible)
        )
    elif kind == "tags":
        model = Tag
        link = article_tags
        joined = (
            sa.select(model, sa.func.count(Article.id))
            .outerjoin(link, link.c.tag_id == Tag.id)
            .outerjoin(Article, sa.and_(Article.id == link.c.article_id, visible))
        )
    elif kind == "authors":
        model = Author
        joined = (
            sa.select(model, sa.func.count(Article.id))
            .outerjoin(ArticleAuthor, ArticleAuthor.author_id == Author.id)
            .outerjoin(Article, sa.and_(Article.id == ArticleAuthor.article_id, visible))
        )
    else:
        model = Source
        joined = (
            sa.select(model, sa.func.count(Article.id))
            .outerjoin(ArticleSource, ArticleSource.source_id == Source.id)
            .outerjoin(Article, sa.and_(Article.id == ArticleSource.article_id, visible))
        )
    return model, joined.group_by(model.id)


TAXONOMY_MODELS = {"sections": Section, "tags": Tag, "authors": Author, "sources": Source}


def list_taxonomy(
    kind: str,
    *,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
    now: datetime | None = None,
) -> Page:
    """Entries ordered by slug, each with ``article_count`` of visible articles."""
    now = now or utcnow()
    model, query = _count_query(kind, now)
    if cursor:
        query = query.where(model.slug > cursor[0])
    rows = db.session.execute(query.order_by(model.slug).limit(limit + 1)).all()
    items = [_with_count(obj, n) for obj, n in rows[:limit]]
    next_cursor = encode_cursor([rows[limit - 1][0].slug]) if len(rows) > limit else None
    total = db.session.scalar(sa.select(sa.func.count()).select_from(model)) if count else None
    return Page(items=items, limit=limit, next_cursor=next_cursor, total=total)


def get_taxonomy(kind: str, slug: str, now: datetime | None = None):
    model, query = _count_query(kind, now or utcnow())
    row = db.session.execute(query.where(model.slug == slug)).first()
    if row is None:
        raise NotFound(f"There is no {kind[:-1]} '{slug}'.")
    return _with_count(*row)


def _with_count(obj, n: int):
    obj.article_count = n
    return obj
