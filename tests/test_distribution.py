"""Feeds, sitemaps and structured data: valid for the readers that consume them, built from
visible articles only, with the site settings' canonical URLs."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import feedparser
import pytest

from cms.config import ConfigError, load_config
from tests.conftest import make_article

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
HERO = {
    "url": "https://img.example.org/port.jpg",
    "alt": "Cranes",
    "caption": "The port",
    "credit": "Photo: A. B.",
}


@pytest.fixture
def newsroom(users, clock, headers, client):
    """Three visible articles (one German, one in sport, one corrected) and hidden ones."""
    port = make_article(
        "Port handles record volume",
        published_at=clock.now - timedelta(hours=3),
        tags=["energy", "port"],
        authors=["ana-writer", "ed-itor"],
        hero_image=HERO,
    )
    german = make_article(
        "Hafen meldet Rekord",
        published_at=clock.now - timedelta(hours=2),
        language="de",
        section="news",
        tags=["port"],
    )
    sport = make_article(
        "Rovers win the derby", published_at=clock.now - timedelta(days=5), section="sport", tags=[]
    )
    make_article("Draft about the harbour", status="draft")
    make_article(
        "Scheduled harbour story", status="scheduled", published_at=clock.now + timedelta(days=3)
    )
    response = client.post(
        f"/api/v1/editor/articles/{port.id}/corrections",
        json={
            "kind": "correction",
            "block_index": 0,
            "text": "An earlier version gave 4.5 million containers.",
        },
        headers=headers["editor"],
    )
    assert response.status_code == 201
    return port, german, sport


def test_rss_and_atom_parse_cleanly_with_stable_ids_and_corrections(client, newsroom):
    port, german, sport = newsroom
    for url, version in (("/api/v1/feeds/rss.xml", "rss20"), ("/api/v1/feeds/atom.xml", "atom10")):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(
            "application/rss+xml" if version == "rss20" else "application/atom+xml"
        )
        feed = feedparser.parse(response.data)
        assert not feed.bozo, (url, feed.get("bozo_exception"))
        assert feed.version == version
        assert feed.feed.link == "http://127.0.0.1:8000"  # the site, not the feed
        assert [e.title for e in feed.entries] == [german.title, port.title, sport.title]
        entry = feed.entries[1]
        assert entry.id == f"tag:127.0.0.1,{port.created_at:%Y-%m-%d}:article:{port.id}"
        assert port.slug not in entry.id
        assert entry.link == f"http://127.0.0.1:8000/articles/{port.slug}"
        content = entry.content[0].value
        assert "(Handelsblatt)" in content  # the paragraph's attribution
        assert "An earlier version gave 4.5 million containers." in content
        assert entry.summary  # the summary's tldr
        assert {t.term.lower() for t in entry.tags} >= {"news", "energy", "port"}
        assert entry.published_parsed
        if version == "atom10":
            assert entry.updated_parsed
        names = {a.get("name") for a in entry.get("authors", [])} | {entry.get("author")}
        assert "Ana Writer" in str(names)


def test_json_feed_has_the_required_fields(client, newsroom):
    port, german, sport = newsroom
    response = client.get("/api/v1/feeds/feed.json")
    assert response.headers["Content-Type"].startswith("application/feed+json")
    feed = response.get_json(force=True)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert feed["feed_url"].endswith("/api/v1/feeds/feed.json")
    assert len(feed["items"]) == 3
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text")
        assert item["url"].startswith("http://127.0.0.1:8000/articles/")
        assert item["date_published"].endswith("Z")
        assert all(isinstance(a["name"], str) for a in item["authors"])
    assert feed["items"][1]["image"] == HERO["url"]
    assert "4.5 million" in feed["items"][1]["content_html"]


def test_feed_filters_and_bad_parameters(client, newsroom):
    port, german, sport = newsroom
    titles = lambda url: [e.title for e in feedparser.parse(client.get(url).data).entries]  # noqa: E731
    assert titles("/api/v1/feeds/rss.xml?section=sport") == [sport.title]
    assert titles("/api/v1/feeds/atom.xml?tag=port&language=de") == [german.title]
    assert titles("/api/v1/feeds/rss.xml?author=ana-writer") == [port.title]
    assert titles("/api/v1/feeds/rss.xml?source=handelsblatt") == [
        german.title,
        port.title,
        sport.title,
    ]
    assert titles("/api/v1/feeds/rss.xml?tag=no-such-tag") == []
    for url in (
        "/api/v1/feeds/rss.xml?sectoin=sport",
        "/api/v1/feeds/feed.json?limit=5",
        "/api/v1/feeds/atom.xml?section=Not%20A%20Slug",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.headers["Content-Type"] == "application/problem+json"


def test_feed_holds_the_newest_fifty(client, users, clock):
    for n in range(53):
        make_article(f"Story number {n}", published_at=clock.now - timedelta(minutes=60 - n))
    feed = feedparser.parse(client.get("/api/v1/feeds/rss.xml").data)
    assert len(feed.entries) == 50
    assert feed.entries[0].title == "Story number 52"
    assert feed.entries[-1].title == "Story number 3"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/feeds/rss.xml",
        "/api/v1/feeds/atom.xml",
        "/api/v1/feeds/feed.json",
        "/api/v1/sitemaps/index.xml",
        "/api/v1/sitemaps/articles-1.xml",
        "/api/v1/sitemaps/news.xml",
        "/api/v1/corrections",
    ],
)
def test_public_cache_headers_and_conditional_get(client, newsroom, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == ("public, max-age=60, stale-while-revalidate=300")
    etag = response.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    if "Last-Modified" in response.headers:
        since = response.headers["Last-Modified"]
        assert client.get(url, headers={"If-Modified-Since": since}).status_code == 304
    assert client.get(url + ("&" if "?" in url else "?") + "bogus=1").status_code == 400


def test_sitemap_index_pages_and_news(client, app, newsroom, monkeypatch, clock):
    port, german, sport = newsroom
    monkeypatch.setitem(app.config, "CMS_SITEMAP_PAGE_SIZE", 2)
    index = ElementTree.fromstring(client.get("/api/v1/sitemaps/index.xml").data)
    locs = [e.findtext(f"{SITEMAP}loc") for e in index.findall(f"{SITEMAP}sitemap")]
    # Two ids a page: the pages of the three visible articles; the draft's and the scheduled
    # article's ids (the next two) list nothing and have no page of their own.
    pages = sorted({(a.id - 1) // 2 + 1 for a in (port, german, sport)})
    assert locs == [f"http://localhost/api/v1/sitemaps/articles-{n}.xml" for n in pages] + [
        "http://localhost/api/v1/sitemaps/news.xml"
    ]
    urls = []
    for n in pages:
        page = ElementTree.fromstring(client.get(f"/api/v1/sitemaps/articles-{n}.xml").data)
        for url in page.findall(f"{SITEMAP}url"):
            assert url.findtext(f"{SITEMAP}lastmod").endswith("Z")
            urls.append(url.findtext(f"{SITEMAP}loc"))
    assert sorted(urls) == sorted(
        f"http://127.0.0.1:8000/articles/{a.slug}" for a in (port, german, sport)
    )
    for n in (0, pages[-1] + 1, pages[-1] + 2, 2**31 - 1):
        response = client.get(f"/api/v1/sitemaps/articles-{n}.xml")
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == "no-store"

    news = ElementTree.fromstring(client.get("/api/v1/sitemaps/news.xml").data)
    entries = {u.findtext(f"{SITEMAP}loc"): u.find(f"{NEWS}news") for u in news}
    assert list(entries) == [f"http://127.0.0.1:8000/articles/{a.slug}" for a in (german, port)]
    item = entries[f"http://127.0.0.1:8000/articles/{german.slug}"]
    assert item.findtext(f"{NEWS}publication/{NEWS}name") == "Newsroom"
    assert item.findtext(f"{NEWS}publication/{NEWS}language") == "de"
    assert item.findtext(f"{NEWS}title") == german.title
    assert item.findtext(f"{NEWS}keywords") == "Port"
    assert item.findtext(f"{NEWS}publication_date").endswith("Z")
    clock.advance(hours=45)  # port was published 48 hours ago now, german 47 hours ago
    news = ElementTree.fromstring(client.get("/api/v1/sitemaps/news.xml").data)
    assert [u.findtext(f"{SITEMAP}loc") for u in news] == [
        f"http://127.0.0.1:8000/articles/{german.slug}"
    ]


def test_news_sitemap_holds_at_most_1000(client, users, clock, monkeypatch):
    from cms.services.distribution import sitemaps

    monkeypatch.setattr(sitemaps, "NEWS_LIMIT", 3)
    for n in range(5):
        make_article(f"Breaking {n}", published_at=clock.now - timedelta(minutes=10 - n))
    news = ElementTree.fromstring(client.get("/api/v1/sitemaps/news.xml").data)
    assert [u.find(f"{NEWS}news").findtext(f"{NEWS}title") for u in news] == [
        "Breaking 4",
        "Breaking 3",
        "Breaking 2",
    ]
    assert sitemaps.NEWS_LIMIT == 3 and sitemaps.__dict__.get("NEWS_WINDOW")


def test_json_ld_news_article_has_what_google_asks_for(client, newsroom):
    port, _, _ = newsroom
    plain = client.get(f"/api/v1/articles/{port.slug}").get_json()
    assert "structured_data" not in plain
    detail = client.get(f"/api/v1/articles/{port.slug}?formats=jsonld").get_json()
    assert "body" not in detail  # formats narrows the body representations as before
    data = detail["structured_data"]
    assert data["@context"] == "https://schema.org" and data["@type"] == "NewsArticle"
    # Google's article guidelines: headline, image, datePublished, dateModified, author.name
    assert data["headline"] == port.title
    assert data["image"][0]["url"] == HERO["url"]
    assert data["datePublished"] == detail["published_at"]
    assert data["dateModified"] >= detail["updated_at"]
    assert [a["name"] for a in data["author"]] == ["Ana Writer", "Ed Itor"]
    assert all(a["@type"] == "Person" for a in data["author"])
    assert data["publisher"] == {
        "@type": "NewsMediaOrganization",
        "name": "Newsroom",
        "url": "http://127.0.0.1:8000",
    }
    assert data["mainEntityOfPage"]["@id"] == f"http://127.0.0.1:8000/articles/{port.slug}"
    assert data["articleSection"] == "News"
    assert data["keywords"] == ["Energy", "Port"]
    assert data["description"] == detail["summary"]["tldr"]
    assert {c["name"] for c in data["citation"]} == {"Handelsblatt", "Reuters"}
    assert data["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": "An earlier version gave 4.5 million containers.",
            "datePublished": detail["corrections"][0]["created_at"],
            "additionalType": "correction",
        }
    ]
    both = client.get(f"/api/v1/articles/{port.slug}?formats=html,jsonld").get_json()
    assert "body_html" in both and both["structured_data"] == data


def test_site_settings_shape_every_url(client, app, newsroom, monkeypatch):
    port, german, sport = newsroom
    config = load_config(
        app.instance_path,
        {
            "CMS_SITE_URL": "https://news.example.org/",
            "CMS_SITE_NAME": "Westerhaven Herald",
            "CMS_SITE_LANGUAGE": "de-AT",
            "CMS_ARTICLE_URL_TEMPLATE": "{site_url}/{section}/{slug}-{id}",
        },
    )
    for key in ("CMS_SITE_URL", "CMS_SITE_NAME", "CMS_SITE_LANGUAGE", "CMS_ARTICLE_URL_TEMPLATE"):
        monkeypatch.setitem(app.config, key, config[key])
    assert config["CMS_SITE_URL"] == "https://news.example.org"
    feed = client.get("/api/v1/feeds/feed.json").get_json(force=True)
    assert feed["title"] == "Westerhaven Herald" and feed["language"] == "de-AT"
    assert feed["items"][2]["url"] == f"https://news.example.org/sport/{sport.slug}-{sport.id}"
    news = client.get("/api/v1/sitemaps/news.xml").get_data(as_text=True)
    assert f"https://news.example.org/news/{port.slug}-{port.id}" in news
    assert "<news:name>Westerhaven Herald</news:name>" in news
    rss = feedparser.parse(client.get("/api/v1/feeds/rss.xml").data)
    assert rss.feed.language == "de-AT"
    data = client.get(f"/api/v1/articles/{port.slug}?formats=jsonld").get_json()
    assert data["structured_data"]["url"] == f"https://news.example.org/news/{port.slug}-{port.id}"


@pytest.mark.parametrize(
    "env",
    [
        {"CMS_SITE_URL": "news.example.org"},
        {"CMS_SITE_URL": "ftp://news.example.org"},
        {"CMS_SITE_LANGUAGE": "english"},
        {"CMS_ARTICLE_URL_TEMPLATE": "{site_url}/{category}/{slug}"},
        {"CMS_ARTICLE_URL_TEMPLATE": "{site_url}/articles"},
        {"CMS_ARTICLE_URL_TEMPLATE": "/articles/{slug}"},
        {"CMS_SITEMAP_PAGE_SIZE": "50001"},
    ],
)
def test_bad_site_settings_stop_the_app_from_starting(app, env):
    with pytest.raises(ConfigError):
        load_config(app.instance_path, env)
