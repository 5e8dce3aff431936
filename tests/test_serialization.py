"""The public read path builds its JSON by hand (cms/schemas/articles.py, "fast public output")
and reads cards as rows; these tests pin that it gives exactly what the marshmallow schemas,
which document the API, give for the ORM objects."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article
from cms.schemas.articles import (
    ArticleCard,
    ArticleDetail,
    RelatedOut,
    SummaryOut,
    card_data,
    detail_data,
)
from cms.services import curation, reading
from cms.text import rfc3339
from tests.conftest import make_article


def _same(a, b) -> None:
    """Equal as JSON (what a client receives), key order included."""
    assert orjson.dumps(a) == orjson.dumps(b)


@pytest.fixture
def story(users, clock):
    older = make_article("Older story", published_at=clock.now - timedelta(hours=5))
    article = make_article(
        "Port handles record volume",
        subtitle="Busiest year yet",
        tags=["energy", "port"],
        authors=["ed-itor", "ana-writer"],
        sources=["reuters"],
        hero_image={"url": "https://img.example.org/a.jpg", "alt": "Cranes", "caption": None,
                    "credit": "Agency"},
        canonical_url="https://example.org/original",
        published_at=clock.now - timedelta(hours=3),
        author=users["editor"],
    )
    newer = make_article("Newer story", published_at=clock.now - timedelta(hours=1),
                         section=None)
    curation.set_links(
        article,
        [{"article_id": older.id, "title": None, "label": "Earlier", "url": None},
         {"article_id": None, "url": "https://example.org/b", "title": "Background",
          "label": None}],
        actor=users["editor"],
    )
    db.session.commit()
    return article, older, newer


def test_cards_match_the_schema(client, story):
    listed = client.get("/api/v1/articles?limit=10").get_json()["data"]
    db.session.expire_all()
    for item in listed:
        article = db.session.get(Article, item["id"])
        _same(item, ArticleCard().dump(article))
        _same(card_data(article), ArticleCard().dump(article))


def test_sparse_fieldsets_match_the_schema(client, story):
    listed = client.get("/api/v1/articles?fields=slug,tags,links").get_json()["data"]
    article = db.session.scalar(sa.select(Article).where(Article.slug == listed[0]["slug"]))
    _same(listed[0], ArticleCard(only=["slug", "tags", "links"]).dump(article))


@pytest.mark.parametrize("formats", [None, "html", "blocks,text"])
def test_detail_matches_the_schema(client, story, formats):
    article = story[0]
    query = f"?formats={formats}" if formats else ""
    shown = client.get(f"/api/v1/articles/{article.slug}{query}").get_json()
    chosen = tuple(formats.split(",")) if formats else ("blocks", "html", "text")
    excluded = [f for k, f in (("blocks", "body"), ("html", "body_html"), ("text", "body_text"))
                if k not in chosen]
    expected = ArticleDetail(exclude=excluded).dump(reading.article_page(article))
    _same(shown, expected)
    _same(detail_data(reading.article_page(article), chosen), expected)
    assert shown["previous"]["slug"] == "older-story"
    assert shown["next"]["slug"] == "newer-story"


def test_summary_and_related_match_the_schemas(client, story):
    article = story[0]
    summary = client.get(f"/api/v1/articles/{article.slug}/summary").get_json()
    _same(summary, SummaryOut().dump(db.session.get(Article, article.id).summary))

    related = client.get(f"/api/v1/articles/{article.slug}/related?limit=5").get_json()
    view = reading.related(db.session.get(Article, article.id), limit=5)
    _same(related, RelatedOut().dump(view))
    assert [i["kind"] for i in related["related"][:2]] == ["curated", "curated"]
    assert related["related"][1]["url"] == "https://example.org/b"


def test_neighbours_skip_invisible_articles_and_break_ties_by_id(client, users, clock):
    when = clock.now - timedelta(hours=2)
    first = make_article("Tie one", published_at=when)
    second = make_article("Tie two", published_at=when)
    make_article("Not yet", status="scheduled", published_at=clock.now + timedelta(hours=2))
    make_article("Draft", status="draft")

    shown = client.get(f"/api/v1/articles/{first.slug}").get_json()
    assert shown["previous"] is None
    assert shown["next"]["slug"] == second.slug
    shown = client.get(f"/api/v1/articles/{second.slug}").get_json()
    assert shown["previous"]["slug"] == first.slug
    assert shown["next"] is None
    assert shown["published_at"] == rfc3339(when)
