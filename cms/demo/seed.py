"""Loads ``content.json`` through the same schemas and services as the editor API."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from cms.clock import utcnow
from cms.extensions import db
from cms.models import Article, Author, Section, Source, Tag, User
from cms.schemas.articles.editor import ArticleIn, RelatedLinksIn, SummaryIn
from cms.services.accounts import users
from cms.services.content import articles
from cms.services.content.slugs import slug_from_title
from cms.services.related import curation
from cms.services.summaries import service as summaries
from cms.services.workflow import publishing

CONTENT = Path(__file__).with_name("content.json")
DEMO_LOGINS = [
    ("admin@example.org", "demo-admin-password", "admin"),
    ("editor@example.org", "demo-editor-password", "editor"),
    ("writer@example.org", "demo-writer-password", "writer"),
]


def seed() -> int:
    """Load the demo content unless articles exist; returns the number of articles created."""
    if db.session.scalar(sa.select(sa.func.count(Article.id))):
        return 0
    content = json.loads(CONTENT.read_text(encoding="utf-8"))
    for model, key in (
        (Section, "sections"),
        (Tag, "tags"),
        (Author, "authors"),
        (Source, "sources"),
    ):
        for entry in content[key]:
            db.session.add(model(**entry))
    db.session.flush()

    authors_of = {u["email"]: u.get("author") for u in content.get("users", [])}
    logins = {}
    for email, password, role in DEMO_LOGINS:
        existing = db.session.scalar(sa.select(User).where(User.email == email))
        logins[role] = existing or users.create_user(
            email, password, role, author=authors_of.get(email)
        )
    db.session.flush()
    admin, editor, writer = logins["admin"], logins["editor"], logins["writer"]

    now = utcnow()
    by_slug: dict[str, Article] = {}
    for entry in content["articles"]:
        data = ArticleIn().load(
            {
                k: entry[k]
                for k in (
                    "title",
                    "subtitle",
                    "section",
                    "tags",
                    "authors",
                    "sources",
                    "language",
                    "hero_image",
                    "body",
                )
                if k in entry
            }
        )
        actor = writer if entry["status"] in ("draft", "in_review") else editor
        article = articles.create_article(data, actor=actor)
        db.session.flush()
        by_slug[slug_from_title(entry["title"])] = article
        status, hours = entry["status"], entry.get("published_hours_ago")
        if status == "in_review":
            publishing.perform(article, "submit", actor=actor, expected_version=article.version)
        elif status in ("published", "scheduled"):
            when = now - timedelta(hours=hours)
            publishing.perform(
                article, "publish", actor=editor, expected_version=article.version, publish_at=when
            )
            if when <= now:
                article.published_at = article.first_published_at = when
                article.updated_at = when
        if entry.get("summary"):
            summaries.write_summary(article, SummaryIn().load(entry["summary"]), actor=editor)

    for entry in content["articles"]:
        links = entry.get("related") or []
        if not links:
            continue
        article = by_slug[slug_from_title(entry["title"])]
        payload = [
            {"article_id": by_slug[link["article"]].id, "label": link.get("label")}
            if link.get("article")
            else {"url": link["url"], "title": link["title"], "label": link.get("label")}
            for link in links
        ]
        curation.set_links(article, RelatedLinksIn().load({"links": payload})["links"], actor=admin)
    db.session.commit()
    return len(by_slug)
