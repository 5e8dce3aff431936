"""The public response cache never serves content that a write or the clock has changed."""

from datetime import timedelta

from tests.conftest import make_article


def _etag(client, article_id, headers):
    return client.get(f"/api/v1/editor/articles/{article_id}", headers=headers).headers["ETag"]


def test_an_edit_is_visible_on_the_next_read(client, users, headers):
    article = make_article("Tram line opens")
    path = f"/api/v1/articles/{article.slug}"
    assert client.get(path).get_json()["title"] == "Tram line opens"
    assert client.get("/api/v1/articles").get_json()["data"][0]["title"] == "Tram line opens"
    response = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"title": "Tram line opens early"},
        headers={**headers["editor"], "If-Match": _etag(client, article.id, headers["editor"])},
    )
    assert response.status_code == 200
    assert client.get(path).get_json()["title"] == "Tram line opens early"
    assert client.get("/api/v1/articles").get_json()["data"][0]["title"] == "Tram line opens early"


def test_unpublish_removes_the_article_from_cached_lists(client, users, headers):
    article = make_article("Bridge closure")
    assert len(client.get("/api/v1/articles").get_json()["data"]) == 1
    response = client.post(
        f"/api/v1/editor/articles/{article.id}/unpublish",
        headers={**headers["editor"], "If-Match": _etag(client, article.id, headers["editor"])},
    )
    assert response.status_code == 200
    assert client.get("/api/v1/articles").get_json()["data"] == []
    assert client.get(f"/api/v1/articles/{article.slug}").status_code == 404


def test_a_cached_list_does_not_hide_a_scheduled_article_past_its_time(client, users, clock):
    make_article("Already out")
    scheduled = make_article(
        "Goes live soon", status="scheduled", published_at=clock.now + timedelta(seconds=10)
    )
    assert [a["slug"] for a in client.get("/api/v1/articles").get_json()["data"]] != [
        scheduled.slug
    ]
    clock.advance(seconds=11)
    slugs = [a["slug"] for a in client.get("/api/v1/articles").get_json()["data"]]
    assert slugs[0] == scheduled.slug


def test_a_cached_response_still_answers_304(client, users):
    article = make_article("Harbour lights")
    path = f"/api/v1/articles/{article.slug}"
    first = client.get(path)
    cached = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304
    assert cached.headers["ETag"] == first.headers["ETag"]
