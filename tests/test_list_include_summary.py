"""``GET /api/v1/articles?include=summary``: list items with their summaries, so a front page
of cards with their ``tldr`` (the reference site's) is one request instead of one per card."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from cms.extensions import db
from cms.models import Summary, User
from cms.schemas.articles.editor import SummaryIn
from cms.services.summaries import service as summaries
from tests.conftest import make_article, recorded_statements


def _by_slug(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return {item["slug"]: item for item in response.get_json()["data"]}


def test_each_item_carries_the_summary_the_summary_endpoint_gives(client, taxonomy):
    first = make_article("Port handles record volume")
    second = make_article("Ferry adds night crossings")
    items = _by_slug(client.get("/api/v1/articles?include=summary"))
    assert set(items) == {first.slug, second.slug}
    for slug, item in items.items():
        assert item["summary"] == client.get(f"/api/v1/articles/{slug}/summary").get_json()
        assert item["summary"]["tldr"]
    # the rest of each item is the card the plain list gives
    plain = _by_slug(client.get("/api/v1/articles"))
    for slug, item in items.items():
        assert {k: v for k, v in item.items() if k != "summary"} == plain[slug]
        assert "summary" not in plain[slug]


def test_with_a_sparse_fieldset_and_filters(client, taxonomy):
    make_article("Port handles record volume", section="news")
    make_article("Derby ends in a draw", section="sport")
    response = client.get("/api/v1/articles?section=sport&fields=slug,title&include=summary")
    (item,) = response.get_json()["data"]
    assert set(item) == {"slug", "title", "summary"}
    assert item["slug"] == "derby-ends-in-a-draw"
    assert set(item["summary"]) >= {"tldr", "key_points", "origin"}


def test_an_article_without_a_summary_has_null(client, taxonomy):
    article = make_article()
    db.session.execute(sa.delete(Summary).where(Summary.article_id == article.id))
    db.session.commit()
    (item,) = client.get("/api/v1/articles?include=summary").get_json()["data"]
    assert item["slug"] == article.slug
    assert item["summary"] is None


def test_only_visible_articles_and_their_summaries(client, taxonomy, clock):
    shown = make_article("Port handles record volume")
    hidden = [
        make_article(
            f"Merger {status}",
            status=status,
            body=[{"type": "paragraph", "text": f"The zebrafish merger is {status} at last."}],
            published_at=clock.now + timedelta(days=1) if status == "scheduled" else None,
        )
        for status in ("draft", "in_review", "scheduled", "archived")
    ]
    response = client.get("/api/v1/articles?include=summary&limit=100")
    assert list(_by_slug(response)) == [shown.slug]
    assert "zebrafish" not in response.get_data(as_text=True)
    assert all("zebrafish" in article.summary.tldr for article in hidden)


def test_a_summary_edit_shows_at_once_despite_the_response_cache(client, taxonomy):
    article = make_article()
    path = "/api/v1/articles?include=summary"
    before = client.get(path)
    etag = before.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    editor = db.session.scalar(sa.select(User).where(User.role == "admin"))
    summaries.write_summary(
        article,
        SummaryIn().load({"tldr": "An editor's shorter version.", "key_points": []}),
        actor=editor,
    )
    db.session.commit()
    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.get_json()["data"][0]["summary"]["tldr"] == "An editor's shorter version."
    assert after.headers["ETag"] != etag


def test_unknown_include_is_refused_naming_the_parameter(client, taxonomy):
    make_article()
    for value in ("related", "summary,related", ""):
        response = client.get(f"/api/v1/articles?include={value}")
        if value == "":
            continue  # an empty list means nothing to include
        assert response.status_code == 400
        assert "include" in response.get_json()["errors"]


def test_one_more_statement_whatever_the_page_size(app, client, taxonomy, monkeypatch):
    monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)

    def count(path):
        with recorded_statements() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    # ``limit=20`` (the default): the plain list's statements, answered by Flask, whose
    # statements the events see (cms.api.public.fast runs them compiled on the driver).
    plain, included = "/api/v1/articles?limit=20", "/api/v1/articles?include=summary"
    make_article("One")
    plain_one, included_one = count(plain), count(included)
    for i in range(5):
        make_article(f"More news {i}")
    plain_six, included_six = count(plain), count(included)
    assert included_one == plain_one + 1
    assert included_six == plain_six + 1


def test_the_parameter_and_the_field_are_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/articles"]["get"]["parameters"]
    (include,) = [p for p in parameters if p["name"] == "include"]
    assert "summary" in include["description"]
    item = spec["components"]["schemas"]["ArticleListItem"]
    assert item["properties"]["summary"]["description"].startswith("Only with `include=summary`")
