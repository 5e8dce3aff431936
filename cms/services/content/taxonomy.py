"""Editor CRUD of sections, tags, authors and sources."""

from __future__ import annotations

import sqlalchemy as sa
from slugify import slugify

from cms.auth.permissions import authorize
from cms.errors import Conflict, NotFound
from cms.extensions import db
from cms.models import Article, ArticleSource, Section, Source, User
from cms.services.accounts import audit
from cms.services.public.taxonomies import TAXONOMY_MODELS


def get(kind: str, slug: str):
    model = TAXONOMY_MODELS[kind]
    obj = db.session.scalar(sa.select(model).where(model.slug == slug))
    if obj is None:
        raise NotFound(f"There is no {kind[:-1]} '{slug}'.")
    return obj


def _ensure_free(model, slug: str, current=None) -> None:
    other = db.session.scalar(sa.select(model).where(model.slug == slug))
    if other is not None and other is not current:
        raise Conflict(f"The slug '{slug}' is already used.", errors={"slug": ["Already in use."]})


def create(kind: str, data: dict, *, actor: User):
    authorize(actor, "taxonomy:write")
    model = TAXONOMY_MODELS[kind]
    slug = data.get("slug") or slugify(data["name"], max_length=100) or kind[:-1]
    _ensure_free(model, slug)
    obj = model(**{**data, "slug": slug})
    db.session.add(obj)
    audit.log(f"{kind[:-1]}.create", kind[:-1], slug, actor, {"name": obj.name})
    return obj


def update(kind: str, obj, data: dict, *, actor: User):
    authorize(actor, "taxonomy:write")
    if "slug" in data and data["slug"] != obj.slug:
        _ensure_free(TAXONOMY_MODELS[kind], data["slug"], obj)
    detail = {"changed": sorted(data), "slug_before": obj.slug}
    for key, value in data.items():
        setattr(obj, key, value)
    audit.log(f"{kind[:-1]}.update", kind[:-1], obj.slug, actor, detail)
    return obj


def _in_use(obj: Section | Source) -> bool:
    if isinstance(obj, Section):
        query = sa.select(Article.id).where(Article.section_id == obj.id)
    else:
        query = sa.select(ArticleSource.article_id).where(ArticleSource.source_id == obj.id)
    return db.session.execute(query.limit(1)).first() is not None


def delete(kind: str, obj, *, actor: User) -> None:
    """Delete an entry. Tags and authors are simply removed from their articles; sections and
    sources still used by articles cannot go (409), as that would change what articles say."""
    authorize(actor, "taxonomy:write")
    if isinstance(obj, Section | Source) and _in_use(obj):
        raise Conflict(
            f"This {kind[:-1]} is used by articles; move them first.",
        )
    audit.log(f"{kind[:-1]}.delete", kind[:-1], obj.slug, actor)
    db.session.delete(obj)
