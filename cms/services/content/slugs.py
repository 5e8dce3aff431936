"""Slugs: derived from titles, unique across current and former article slugs."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from slugify import slugify

from cms.extensions import db
from cms.models import Article, SlugRedirect

MAX_SLUG = 180


# German transliteration (ä → ae) rather than dropping the umlaut's dots.
_REPLACEMENTS = [["Ä", "Ae"], ["Ö", "Oe"], ["Ü", "Ue"], ["ä", "ae"], ["ö", "oe"], ["ü", "ue"]]


def slug_from_title(title: str) -> str:
    slug = slugify(title, max_length=MAX_SLUG, word_boundary=True, replacements=_REPLACEMENTS)
    return slug or "article"


def slug_taken(slug: str, *, exclude_article_id: int | None = None) -> bool:
    """True when ``slug`` is the current or a former slug of another article."""
    statement = _taken_statement(exclude_article_id is not None)
    params = {"slug": slug}
    if exclude_article_id is not None:
        params["exclude"] = exclude_article_id
    return db.session.execute(statement, params).first() is not None


@functools.cache
def _taken_statement(excluding: bool) -> sa.Select:
    """:func:`slug_taken`'s statement, built once; parameters ``slug`` and, when
    ``excluding``, ``exclude`` (an article id)."""
    slug = sa.bindparam("slug")
    current = sa.select(Article.id).where(Article.slug == slug)
    former = sa.select(SlugRedirect.article_id).where(SlugRedirect.old_slug == slug)
    if excluding:
        exclude = sa.bindparam("exclude")
        current = current.where(Article.id != exclude)
        former = former.where(SlugRedirect.article_id != exclude)
    return current.union_all(former).limit(1)


def unique_slug(base: str, *, exclude_article_id: int | None = None) -> str:
    slug, n = base, 2
    while slug_taken(slug, exclude_article_id=exclude_article_id):
        suffix = f"-{n}"
        slug = base[: MAX_SLUG - len(suffix)] + suffix
        n += 1
    return slug
