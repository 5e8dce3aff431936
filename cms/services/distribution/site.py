"""The front end's canonical addresses, from the ``CMS_SITE_*`` settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

_DOUBLE_SLASH = re.compile(r"(?<!:)//+")


@dataclass(frozen=True)
class Site:
    url: str
    name: str
    language: str
    article_url_template: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    def article_url(self, *, id: int, slug: str, section: str | None) -> str:
        """``CMS_ARTICLE_URL_TEMPLATE`` filled in; an article without a section drops the
        ``{section}`` path segment."""
        url = self.article_url_template.format(
            site_url=self.url, slug=slug, section=section or "", id=id
        )
        if section:
            return url
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{_DOUBLE_SLASH.sub('/', rest)}"

    def article_id_uri(self, article_id: int, created_at) -> str:
        """A stable, globally unique id of an article (RFC 4151 tag URI): not its slug or URL,
        which may change."""
        return f"tag:{self.host},{created_at:%Y-%m-%d}:article:{article_id}"


def current() -> Site:
    config = current_app.config
    return Site(
        url=config["CMS_SITE_URL"],
        name=config["CMS_SITE_NAME"],
        language=config["CMS_SITE_LANGUAGE"],
        article_url_template=config["CMS_ARTICLE_URL_TEMPLATE"],
    )
