"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 of the newest visible articles.

The XML feeds are written by ``feedgen``; the JSON Feed is a plain document (JSON needs no
templating). Each item: a stable id (a tag URI of the article id, never the slug), the
canonical front-end link, title, authors, categories (section and tags), published and updated
times, the summary's ``tldr`` as description (the excerpt when there is no summary), and the
sanitized body with its attributions as content, the article's corrections appended.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime

from feedgen.feed import FeedGenerator

from cms.clock import utcnow
from cms.extensions import db
from cms.models import Article, Correction
from cms.services.distribution.site import Site
from cms.services.public import reading
from cms.services.visibility import public_articles
from cms.text import rfc3339

FEED_SIZE = 50
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
KIND_LABELS = {
    "correction": "Correction",
    "clarification": "Clarification",
    "update": "Update",
    "retraction": "Retraction",
}


@dataclass
class FeedItem:
    id: str
    url: str
    title: str
    description: str
    content_html: str
    published: datetime
    updated: datetime
    language: str
    authors: list[str]
    categories: list[tuple[str, str]]  # (slug, name)
    image: str | None = None
    corrections: list[Correction] = field(default_factory=list)


@dataclass
class Feed:
    title: str
    description: str
    home_url: str
    self_urls: dict[str, str]  # format -> URL of this feed in that format
    language: str
    items: list[FeedItem]

    @property
    def updated(self) -> datetime | None:
        return max((item.updated for item in self.items), default=None)


def build(site: Site, filters: dict, self_urls: dict[str, str], now=None) -> Feed:
    """The newest ``FEED_SIZE`` visible articles matching the list ``filters``."""
    now = now or utcnow()
    query = reading.apply_filters(public_articles(now), filters)
    articles: list[Article] = []
    if query is not None:
        query = (
            query.order_by(Article.published_at.desc(), Article.id.desc())
            .limit(FEED_SIZE)
            .options(*reading.FULL)
        )
        articles = list(db.session.scalars(query).unique())
    corrections = reading.visible_corrections([a.id for a in articles])
    items = [_item(site, article, corrections.get(article.id, [])) for article in articles]
    described = ", ".join(f"{name} {value}" for name, value in sorted(filters.items()))
    return Feed(
        title=site.name + (f" ({described})" if described else ""),
        description=f"The newest articles of {site.name}"
        + (f", {described}" if described else "")
        + ".",
        home_url=site.url,
        self_urls=self_urls,
        language=site.language,
        items=items,
    )


def _item(site: Site, article: Article, corrections: list[Correction]) -> FeedItem:
    section = article.section
    updated = article.updated_at
    if article.summary is not None and article.summary.updated_at > updated:
        updated = article.summary.updated_at
    categories = ([(section.slug, section.name)] if section else []) + [
        (tag.slug, tag.name) for tag in article.tags
    ]
    return FeedItem(
        id=site.article_id_uri(article.id, article.created_at),
        url=site.article_url(
            id=article.id, slug=article.slug, section=section.slug if section else None
        ),
        title=article.title,
        description=article.summary.tldr if article.summary is not None else article.excerpt,
        content_html=article.body_html + corrections_html(corrections),
        published=article.published_at,
        updated=max(updated, article.published_at),
        language=article.language,
        authors=[author.name for author in article.authors],
        categories=categories,
        image=(article.hero_image or {}).get("url"),
        corrections=corrections,
    )


def corrections_html(corrections: list[Correction]) -> str:
    """The corrections as an HTML block appended to the body (text escaped)."""
    if not corrections:
        return ""
    parts = ['\n<aside class="corrections"><h2>Corrections</h2>']
    for entry in corrections:
        when = entry.created_at.strftime("%Y-%m-%d %H:%M UTC")
        parts.append(
            f"<p><strong>{KIND_LABELS[entry.kind]}</strong> ({when}): {html.escape(entry.text)}</p>"
        )
    parts.append("</aside>")
    return "\n".join(parts)


def _generator(feed: Feed, self_format: str) -> FeedGenerator:
    generator = FeedGenerator()
    generator.load_extension("dc")
    generator.id(feed.self_urls[self_format])
    generator.title(feed.title)
    generator.subtitle(feed.description)
    # feedgen makes the last link the RSS channel's <link>: the site, not the feed itself.
    generator.link(href=feed.self_urls[self_format], rel="self")
    generator.link(href=feed.home_url, rel="alternate")
    generator.language(feed.language)
    generator.generator("Newsroom content API")
    generator.updated(feed.updated or utcnow())
    for item in feed.items:
        entry = generator.add_entry(order="append")
        entry.id(item.id)
        entry.guid(item.id, permalink=False)
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate")
        entry.published(item.published)
        entry.updated(item.updated)
        entry.description(item.description or item.title)
        entry.content(item.content_html, type="CDATA" if self_format == "rss" else "html")
        for name in item.authors:
            entry.author(name=name)
            entry.dc.dc_creator(name)
        for slug, name in item.categories:
            entry.category(term=slug, label=name)
    return generator


def rss(feed: Feed) -> bytes:
    return _generator(feed, "rss").rss_str(pretty=False)


def atom(feed: Feed) -> bytes:
    return _generator(feed, "atom").atom_str(pretty=False)


def json_feed(feed: Feed) -> dict:
    """The JSON Feed 1.1 document."""
    items = []
    for item in feed.items:
        out = {
            "id": item.id,
            "url": item.url,
            "title": item.title,
            "summary": item.description,
            "content_html": item.content_html,
            "date_published": rfc3339(item.published),
            "date_modified": rfc3339(item.updated),
            "authors": [{"name": name} for name in item.authors],
            "tags": [name for _, name in item.categories],
            "language": item.language,
        }
        if item.image:
            out["image"] = item.image
        items.append(out)
    return {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.self_urls["json"],
        "description": feed.description,
        "language": feed.language,
        "items": items,
    }
