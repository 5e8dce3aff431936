"""The list's ETag is made from what the page is made of (the content generation, the articles
on it, the request), so a conditional request that matches is answered 304 without reading or
rendering the cards, and the tag still changes whenever the body would."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Summary, Tag
from tests.conftest import make_article, recorded_statements


@pytest.fixture(params=["cache on", "cache off"])
def reader(request, app, client, monkeypatch):
    """The client, with the response cache on (the default) or off (every request reads)."""
    if request.param == "cache off":
        monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)
    return client


def _revalidate(client, path: str, etag: str):
    return client.get(path, headers={"If-None-Match": etag})


def _etag(client, article_id, headers):
    return client.get(f"/api/v1/editor/articles/{article_id}", headers=headers).headers["ETag"]


def test_a_matching_conditional_request_reads_no_card(app, client, users, monkeypatch):
    monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)
    make_article("Harbour lights")
    make_article("Tram line opens")
    path = "/api/v1/articles"
    first = client.get(path)
    assert first.status_code == 200
    with recorded_statements() as issued:
        again = _revalidate(client, path, first.headers["ETag"])
    assert again.status_code == 304
    assert again.data == b""
    assert issued and not any("article_cards" in sql for sql in issued)
    # the headers a 200 carries for caches
    for name in ("ETag", "Cache-Control", "Cache-Tag", "Surrogate-Key"):
        assert again.headers[name] == first.headers[name]
    assert "Origin" in again.headers.get_all("Vary")
    # a tag that does not match: the whole page, as without the header
    other = _revalidate(client, path, '"something-else"')
    assert other.status_code == 200
    assert other.data == first.data and other.headers["ETag"] == first.headers["ETag"]
    assert _revalidate(client, path, "*").status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles",
        "/api/v1/articles?limit=1",
        "/api/v1/articles?section=news&count=true",
        "/api/v1/articles?fields=slug,title",
        "/api/v1/articles?include=summary",
        "/api/v1/articles?tag=nothing-has-this-tag",
    ],
)
def test_every_list_revalidates(reader, users, path):
    make_article("Harbour lights", section="news")
    make_article("Tram line opens", section="news")
    first = reader.get(path)
    assert first.status_code == 200
    again = _revalidate(reader, path, first.headers["ETag"])
    assert again.status_code == 304
    assert again.headers["ETag"] == first.headers["ETag"]
    # the same page asked otherwise is another document: never its tag
    other = reader.get(path + ("&" if "?" in path else "?") + "limit=7")
    assert other.headers["ETag"] != first.headers["ETag"]


def test_an_edit_of_an_article_on_the_page_changes_the_tag(reader, users, headers):
    article = make_article("Tram line opens")
    path = "/api/v1/articles"
    etag = reader.get(path).headers["ETag"]
    response = reader.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"title": "Tram line opens early"},
        headers={**headers["editor"], "If-Match": _etag(reader, article.id, headers["editor"])},
    )
    assert response.status_code == 200
    fresh = _revalidate(reader, path, etag)
    assert fresh.status_code == 200
    assert fresh.get_json()["data"][0]["title"] == "Tram line opens early"
    assert fresh.headers["ETag"] != etag


def test_a_renamed_tag_changes_the_tag_of_pages_that_show_it(reader, users):
    """The same articles at the same versions, but their cards show the tag's new name."""
    make_article("Harbour lights", tags=["energy"])
    path = "/api/v1/articles"
    first = reader.get(path)
    tag = db.session.scalar(sa.select(Tag).where(Tag.slug == "energy"))
    tag.name = "Power"
    db.session.commit()
    fresh = _revalidate(reader, path, first.headers["ETag"])
    assert fresh.status_code == 200
    assert fresh.data != first.data
    assert {"slug": "energy", "name": "Power"} in fresh.get_json()["data"][0]["tags"]


def test_a_scheduled_article_coming_out_changes_the_tag(reader, users, clock):
    make_article("Harbour lights")
    make_article(
        "Goes live soon", status="scheduled", published_at=clock.now + timedelta(seconds=10)
    )
    path = "/api/v1/articles"
    first = reader.get(path)
    assert [a["title"] for a in first.get_json()["data"]] == ["Harbour lights"]
    assert _revalidate(reader, path, first.headers["ETag"]).status_code == 304
    clock.advance(seconds=11)
    fresh = _revalidate(reader, path, first.headers["ETag"])
    assert fresh.status_code == 200
    assert [a["title"] for a in fresh.get_json()["data"]] == ["Goes live soon", "Harbour lights"]


def test_a_summary_edit_changes_the_tag_of_the_list_that_includes_it(reader, users):
    article = make_article("Port handles record volume")
    path = "/api/v1/articles?include=summary"
    first = reader.get(path)
    summary = db.session.scalar(sa.select(Summary).where(Summary.article_id == article.id))
    summary.tldr = "A new short version."
    db.session.commit()
    fresh = _revalidate(reader, path, first.headers["ETag"])
    assert fresh.status_code == 200
    assert fresh.get_json()["data"][0]["summary"]["tldr"] == "A new short version."


def test_an_empty_page_revalidates_until_something_appears(reader, users):
    path = "/api/v1/articles?count=true"
    first = reader.get(path)
    assert first.get_json()["data"] == []
    assert _revalidate(reader, path, first.headers["ETag"]).status_code == 304
    make_article("Harbour lights")
    fresh = _revalidate(reader, path, first.headers["ETag"])
    assert fresh.status_code == 200
    assert fresh.get_json()["meta"]["total"] == 1
