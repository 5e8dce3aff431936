"""schema.org ``NewsArticle`` JSON-LD of a visible article (the detail's ``structured_data``).

Covers what Google's article guidelines recommend (``headline``, ``image``, ``datePublished``,
``dateModified``, ``author`` with ``name``) and what a newsroom adds: ``description``,
``publisher``, ``articleSection``, ``keywords``, ``mainEntityOfPage``, ``inLanguage``, the sources
the article cites as ``citation`` and its corrections as ``correction`` (``CorrectionComment``).
"""

from __future__ import annotations

from datetime import datetime

from cms.services.distribution.site import Site
from cms.text import rfc3339


def news_article(
    site: Site,
    card: dict,
    *,
    description: str | None,
    modified: datetime,
    corrections: list,
) -> dict:
    """``card``: the article's public card (``ArticleCard`` shape)."""
    section = card.get("section")
    url = site.article_url(
        id=card["id"], slug=card["slug"], section=section["slug"] if section else None
    )
    out = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "@id": url,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": card.get("canonical_url") or url},
        "headline": card["title"],
        "description": description or card.get("excerpt") or card.get("subtitle") or "",
        "datePublished": card["published_at"],
        "dateModified": rfc3339(modified),
        "inLanguage": card["language"],
        "author": [{"@type": "Person", "name": author["name"]} for author in card["authors"]],
        "publisher": {"@type": "NewsMediaOrganization", "name": site.name, "url": site.url},
        "keywords": [tag["name"] for tag in card["tags"]],
        "citation": [
            {
                "@type": "CreativeWork",
                "name": source["name"],
                **({"url": source["url"]} if source.get("url") else {}),
                "publisher": {"@type": "Organization", "name": source["name"]},
            }
            for source in card["sources"]
        ],
        "correction": [
            {
                "@type": "CorrectionComment",
                "text": entry.text,
                "datePublished": rfc3339(entry.created_at),
                "additionalType": entry.kind,
            }
            for entry in corrections
        ],
        "isAccessibleForFree": True,
    }
    if section:
        out["articleSection"] = section["name"]
    hero = card.get("hero_image")
    if hero and hero.get("url"):
        out["image"] = [
            {
                "@type": "ImageObject",
                "url": hero["url"],
                **({"caption": hero["caption"]} if hero.get("caption") else {}),
                **({"creditText": hero["credit"]} if hero.get("credit") else {}),
            }
        ]
    if card.get("word_count"):
        out["wordCount"] = card["word_count"]
    return out
