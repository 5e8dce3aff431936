"""Sitemaps: an index, article pages by id range, and the Google News sitemap.

Article page ``n`` lists the visible articles with ids ``(n-1)*size+1 … n*size``
(``CMS_SITEMAP_PAGE_SIZE``, at most 50,000): an article stays on its page for good, and a page
is one primary-key range scan of at most ``size`` rows, whatever the size of the archive. The
index names the pages that have a visible article: one primary-key lookup for the highest
visible id, then one short range probe per page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.sax.saxutils import escape

import sqlalchemy as sa
from lxml import etree

from cms.clock import utcnow
from cms.extensions import db
from cms.models import Article, Section, Tag, article_tags
from cms.schemas.common import MAX_INT
from cms.services.distribution.site import Site
from cms.services.visibility import public_condition
from cms.text import rfc3339

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1000
_URLSET_OPEN = f"<?xml version='1.0' encoding='UTF-8'?>\n<urlset xmlns=\"{SITEMAP_NS}\">"


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def article_pages(page_size: int, now: datetime | None = None) -> list[int]:
    """The numbers of the article pages that list at least one visible article."""
    now = now or utcnow()
    highest = db.session.scalar(
        sa.select(Article.id).where(public_condition(now)).order_by(Article.id.desc()).limit(1)
    )
    if highest is None:
        return []
    pages = []
    for number in range(1, (highest - 1) // page_size + 2):
        low, high = _bounds(number, page_size)
        found = db.session.scalar(
            sa.select(Article.id)
            .where(Article.id.between(low, high), public_condition(now))
            .order_by(Article.id)
            .limit(1)
        )
        if found is not None:
            pages.append(number)
    return pages


def _bounds(number: int, page_size: int) -> tuple[int, int]:
    return (number - 1) * page_size + 1, number * page_size


def index(base_url: str, page_size: int, now: datetime | None = None) -> bytes:
    """The sitemap index: every article page, and the news sitemap."""
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for number in article_pages(page_size, now):
        entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{base_url}/articles-{number}.xml"
    entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
    etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{base_url}/news.xml"
    return _xml(root)


def article_page(site: Site, number: int, page_size: int, now: datetime | None = None):
    """The ``urlset`` of page ``number``, or ``None`` when it lists nothing."""
    now = now or utcnow()
    low, high = _bounds(number, page_size)
    if low > MAX_INT:
        return None  # past any id an article can have
    high = min(high, MAX_INT)
    # The later of updated_at and published_at, read as the stored naive UTC value: 50,000
    # rows skip the ORM and the time-zone conversion.
    lastmod = sa.case(
        (Article.updated_at > Article.published_at, Article.updated_at),
        else_=Article.published_at,
    )
    rows = (
        db.session.connection()
        .execute(
            sa.select(Article.id, Article.slug, sa.type_coerce(lastmod, sa.DateTime), Section.slug)
            .outerjoin(Section, Section.id == Article.section_id)
            .where(Article.id.between(low, high), public_condition(now))
            .order_by(Article.id)
        )
        .all()
    )
    if not rows:
        return None
    # Up to 50,000 entries of two fields: written as text (each value escaped), which costs a
    # fifth of building the same tree with lxml; the small documents here use lxml.
    article_url = site.article_url
    parts = [_URLSET_OPEN]
    for ident, slug, modified, section in rows:
        parts.append(
            f"<url><loc>{escape(article_url(id=ident, slug=slug, section=section))}</loc>"
            f"<lastmod>{modified.isoformat(timespec='seconds')}Z</lastmod></url>"
        )
    parts.append("</urlset>")
    return "".join(parts).encode()


def news_language(language: str) -> str:
    """Google News wants an ISO 639 code (``zh-cn`` and ``zh-tw`` for Chinese)."""
    primary, _, region = language.lower().partition("-")
    if primary == "zh" and region in ("cn", "tw"):
        return f"zh-{region}"
    return primary


def news(site: Site, now: datetime | None = None) -> bytes:
    """Articles published in the last 48 hours, newest first, at most 1,000."""
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(
            Article.id,
            Article.slug,
            Article.title,
            Article.language,
            Article.published_at,
            Section.slug,
        )
        .outerjoin(Section, Section.id == Article.section_id)
        .where(public_condition(now), Article.published_at > now - NEWS_WINDOW)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(NEWS_LIMIT)
    ).all()
    keywords: dict[int, list[str]] = {}
    if rows:
        for article_id, name in db.session.execute(
            sa.select(article_tags.c.article_id, Tag.name)
            .join(Tag, Tag.id == article_tags.c.tag_id)
            .where(article_tags.c.article_id.in_([row[0] for row in rows]))
            .order_by(article_tags.c.article_id, Tag.slug)
        ):
            keywords.setdefault(article_id, []).append(name)
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "news": NEWS_NS})
    for ident, slug, title, language, published_at, section in rows:
        url = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = site.article_url(
            id=ident, slug=slug, section=section
        )
        item = etree.SubElement(url, f"{{{NEWS_NS}}}news")
        publication = etree.SubElement(item, f"{{{NEWS_NS}}}publication")
        etree.SubElement(publication, f"{{{NEWS_NS}}}name").text = site.name
        etree.SubElement(publication, f"{{{NEWS_NS}}}language").text = news_language(language)
        etree.SubElement(item, f"{{{NEWS_NS}}}publication_date").text = rfc3339(published_at)
        etree.SubElement(item, f"{{{NEWS_NS}}}title").text = title
        if keywords.get(ident):
            etree.SubElement(item, f"{{{NEWS_NS}}}keywords").text = ", ".join(keywords[ident])
    return _xml(root)
