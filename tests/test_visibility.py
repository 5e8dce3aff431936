"""Drafts, in-review, scheduled and archived articles are invisible on every public path."""

from datetime import timedelta

import pytest

from tests.conftest import make_article

HIDDEN = ("draft", "in_review", "scheduled", "archived")


@pytest.fixture
def world(users, clock):
    visible = make_article("Visible story about the port", tags=["energy"])
    hidden = {}
    for status in HIDDEN:
        kwargs = {}
        if status == "scheduled":
            kwargs["published_at"] = clock.now + timedelta(days=2)
        hidden[status] = make_article(f"Hidden {status} story", status=status,
                                      tags=["secret-merger"], **kwargs)
    return visible, hidden


def _slugs(payload):
    return {item["slug"] for item in payload["data"]}


def test_list_shows_only_visible(client, world):
    visible, hidden = world
    body = client.get("/api/v1/articles?count=true").get_json()
    assert _slugs(body) == {visible.slug}
    assert body["meta"]["total"] == 1


@pytest.mark.parametrize("status", HIDDEN)
@pytest.mark.parametrize("suffix", ["", "/summary", "/related"])
def test_hidden_article_answers_404_like_a_missing_one(client, world, status, suffix):
    _, hidden = world
    response = client.get(f"/api/v1/articles/{hidden[status].slug}{suffix}")
    missing = client.get(f"/api/v1/articles/no-such-article{suffix}")
    assert response.status_code == missing.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["detail"] == missing.get_json()["detail"]


def test_hidden_never_appear_as_previous_next_or_related(client, world):
    visible, hidden = world
    detail = client.get(f"/api/v1/articles/{visible.slug}").get_json()
    assert detail["previous"] is None and detail["next"] is None
    related = client.get(f"/api/v1/articles/{visible.slug}/related").get_json()
    assert related["previous"] is None and related["next"] is None
    assert all(item["article"]["slug"] == visible.slug for item in related["related"]
               if item["article"]) is True


def test_taxonomy_counts_only_visible(client, world):
    tags = {t["slug"]: t["article_count"] for t in client.get("/api/v1/tags").get_json()["data"]}
    assert tags["energy"] == 1
    assert tags["secret-merger"] == 0
    section = client.get("/api/v1/sections/news").get_json()
    assert section["article_count"] == 1
    source = client.get("/api/v1/sources/handelsblatt").get_json()
    assert source["article_count"] == 1


def test_scheduled_article_goes_live_on_time_without_a_job(client, users, clock):
    when = clock.now + timedelta(hours=2)
    article = make_article("Budget vote preview", status="scheduled", published_at=when)
    assert client.get(f"/api/v1/articles/{article.slug}").status_code == 404
    clock.advance(hours=2, seconds=1)
    response = client.get(f"/api/v1/articles/{article.slug}")
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"
    assert _slugs(client.get("/api/v1/articles").get_json()) == {article.slug}


# --- distribution: feeds, sitemaps, corrections ------------------------------------------------

DISTRIBUTION_SURFACES = (
    "/api/v1/feeds/rss.xml",
    "/api/v1/feeds/atom.xml",
    "/api/v1/feeds/feed.json",
    "/api/v1/feeds/rss.xml?tag=secret-merger",
    "/api/v1/feeds/feed.json?section=news",
    "/api/v1/sitemaps/index.xml",
    "/api/v1/sitemaps/articles-1.xml",
    "/api/v1/sitemaps/news.xml",
    "/api/v1/corrections",
)


@pytest.fixture
def world_with_corrections(world, users):
    """Every article, hidden or not, has a correction in the log, and one more is taken down."""
    from cms.extensions import db
    from cms.models import Correction
    from cms.services.distribution import takedowns

    visible, hidden = world
    down = make_article("Hidden taken_down story", tags=["secret-merger"])
    takedowns.take_down(down, reason="legal", note="", actor=users["admin"])
    hidden = {**hidden, "taken_down": down}
    for article in (visible, *hidden.values()):
        db.session.add(Correction(article_id=article.id, kind="update",
                                  text=f"Correction of {article.slug}"))
    db.session.commit()
    return visible, hidden


@pytest.mark.parametrize("url", DISTRIBUTION_SURFACES)
def test_feeds_sitemaps_and_corrections_show_only_visible(client, world_with_corrections, url):
    visible, hidden = world_with_corrections
    response = client.get(url)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for status, article in hidden.items():
        assert article.slug not in text, status
        assert f"Hidden {status} story" not in text
    if "secret-merger" not in url and "index" not in url:
        assert visible.slug in text


@pytest.mark.parametrize("status", HIDDEN)
def test_hidden_article_corrections_answer_404(client, world_with_corrections, status):
    _, hidden = world_with_corrections
    response = client.get(f"/api/v1/articles/{hidden[status].slug}/corrections")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_no_sitemap_page_exists_for_hidden_articles_only(client, app, world, monkeypatch):
    visible, hidden = world  # ids: visible first, then the hidden ones
    monkeypatch.setitem(app.config, "CMS_SITEMAP_PAGE_SIZE", 1)
    index = client.get("/api/v1/sitemaps/index.xml").get_data(as_text=True)
    assert f"articles-{visible.id}.xml" in index
    for article in hidden.values():
        assert f"articles-{article.id}.xml" not in index
        assert client.get(f"/api/v1/sitemaps/articles-{article.id}.xml").status_code == 404
