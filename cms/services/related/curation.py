"""Editors' curated related links."""

from __future__ import annotations

import sqlalchemy as sa

from cms.auth.permissions import authorize
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.models import Article, RelatedLink, User
from cms.services.accounts import audit
from cms.services.content import revisions


def set_links(article: Article, links: list[dict], *, actor: User) -> list[RelatedLink]:
    """Replace the article's curated links with ``links``, in that order."""
    authorize(actor, "article:edit", article)
    target_ids = [link["article_id"] for link in links if link.get("article_id") is not None]
    existing = set(db.session.scalars(sa.select(Article.id).where(Article.id.in_(target_ids))))
    errors: dict[str, list[str]] = {}
    seen: set = set()
    for i, link in enumerate(links):
        key = link.get("article_id") or link.get("url")
        if link.get("article_id") == article.id:
            errors[f"links.{i}.article_id"] = ["An article cannot link to itself."]
        elif link.get("article_id") is not None and link["article_id"] not in existing:
            errors[f"links.{i}.article_id"] = [f"There is no article {link['article_id']}."]
        elif key in seen:
            errors[f"links.{i}"] = ["This link is listed twice."]
        seen.add(key)
    if errors:
        raise ValidationFailed("Some related links are invalid.", errors=errors)
    before = _described(article.related_links)
    article.related_links = [
        RelatedLink(
            position=i,
            target_id=link.get("article_id"),
            url=link.get("url"),
            title=link.get("title"),
            label=link.get("label"),
        )
        for i, link in enumerate(links)
    ]
    db.session.flush()
    after = _described(article.related_links)
    if after != before:
        revisions.record(article, actor, "related", ["related"], {"links": after})
    audit.log("article.related", "article", article.id, actor, {"links": after})
    return article.related_links


def _described(links: list[RelatedLink]) -> list[dict]:
    return [
        {"article_id": link.target_id, "url": link.url, "title": link.title, "label": link.label}
        for link in links
    ]
