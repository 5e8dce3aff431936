"""The public response cache never serves content that a write or the clock has changed."""

import re
from datetime import timedelta

import pytest

from tests.conftest import make_article, recorded_statements


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
    out = make_article("Already out")
    scheduled = make_article(
        "Goes live soon", status="scheduled", published_at=clock.now + timedelta(seconds=10)
    )
    slugs = [a["slug"] for a in client.get("/api/v1/articles").get_json()["data"]]
    assert scheduled.slug not in slugs  # not yet public, and now in the cache
    assert slugs == [out.slug]
    assert client.get(f"/api/v1/articles/{scheduled.slug}").status_code == 404
    clock.advance(seconds=11)
    slugs = [a["slug"] for a in client.get("/api/v1/articles").get_json()["data"]]
    assert slugs == [scheduled.slug, out.slug]


def test_a_cached_response_still_answers_304(client, users):
    article = make_article("Harbour lights")
    path = f"/api/v1/articles/{article.slug}"
    first = client.get(path)
    cached = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304
    assert cached.headers["ETag"] == first.headers["ETag"]


# --- answers from the cache look exactly like answers from the app ---------------------------

ORIGIN = {"Origin": "https://news.example"}


@pytest.fixture
def statements():
    """``with statements() as issued:`` lists the SQL run meanwhile (none: from the cache)."""
    return recorded_statements


def _headers(response) -> list:
    return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")


def _rename(client, headers, article, slug):
    response = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"slug": slug},
        headers={**headers["editor"], "If-Match": _etag(client, article.id, headers["editor"])},
    )
    assert response.status_code == 200, response.get_json()


def test_a_cached_answer_is_the_first_answer_again(client, users, headers, statements):
    article = make_article("Harbour lights")
    _rename(client, headers, article, "harbour-lights-tonight")
    for path in (
        "/api/v1/articles",
        "/api/v1/articles/harbour-lights-tonight?formats=html",
        f"/api/v1/articles/{article.slug}?formats=html",  # the old slug: 301
        "/api/v1/tags",
        "/api/v1/search?q=harbour",
    ):
        first = client.get(path, headers={**ORIGIN, "X-Request-ID": "first-read"})
        with statements() as issued:
            again = client.get(path, headers={**ORIGIN, "X-Request-ID": "second-read"})
            new_id = client.get(path, headers={**ORIGIN, "X-Request-ID": "not valid!"})
        assert issued == [], path  # answered from the cache
        assert first.status_code in (200, 301)
        assert again.status_code == first.status_code, path
        assert again.data == first.data, path
        assert _headers(again) == _headers(first), path
        assert first.headers["X-Request-ID"] == "first-read"
        assert again.headers["X-Request-ID"] == "second-read"
        assert re.fullmatch(r"[0-9a-f]{32}", new_id.headers["X-Request-ID"])
    assert first.headers["Cache-Control"].startswith("public, max-age=")


def test_a_conditional_request_answered_from_the_cache_is_a_304(client, users, statements):
    article = make_article("Harbour lights")
    path = f"/api/v1/articles/{article.slug}"
    first = client.get(path)
    etag = first.headers["ETag"]
    # A 304 made by the app (the entry is stored on this miss) and one made from the entry.
    client.application.extensions["cms_response_cache"].invalidate()
    made = client.get(path, headers={"If-None-Match": etag})
    with statements() as issued:
        for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = client.get(path, headers={"If-None-Match": validator})
            assert cached.status_code == 304, validator
            assert cached.data == b""
            assert cached.headers["ETag"] == etag
            assert cached.headers["Cache-Control"] == first.headers["Cache-Control"]
            assert _headers(cached) == _headers(made)
        by_date = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        changed = client.get(path, headers={"If-None-Match": '"other"'})
    assert issued == []
    assert made.status_code == 304
    assert by_date.status_code == 304
    assert changed.status_code == 200 and changed.data == first.data


def test_head_is_answered_from_the_cache(client, users, statements):
    article = make_article("Harbour lights")
    path = f"/api/v1/articles/{article.slug}"
    first_head = client.head(path)  # a miss: stored all the same
    with statements() as issued:
        get = client.get(path)
        head = client.head(path)
    assert issued == []
    assert get.status_code == head.status_code == first_head.status_code == 200
    assert head.data == b"" and get.data
    assert head.headers["Content-Length"] == str(len(get.data))
    assert _headers(head) == _headers(get) == _headers(first_head)


def test_an_edit_is_visible_to_a_conditional_request_at_once(client, users, headers):
    article = make_article("Tram line opens")
    path = f"/api/v1/articles/{article.slug}"
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    response = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"title": "Tram line opens early"},
        headers={**headers["editor"], "If-Match": _etag(client, article.id, headers["editor"])},
    )
    assert response.status_code == 200
    fresh = client.get(path, headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.get_json()["title"] == "Tram line opens early"


def test_cached_answers_count_against_the_public_rate_limit(app, client, users, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_PUBLIC_RATE_LIMIT", "3 per minute")
    path = "/api/v1/articles"
    answers = [client.get(path) for _ in range(3)]  # the app, then the cache twice
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"3"}
    varying = {"X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}
    for cached in answers[1:]:
        assert [k for k, _ in _headers(cached)] == [k for k, _ in _headers(answers[0])]
        assert [h for h in _headers(cached) if h[0] not in varying] == [
            h for h in _headers(answers[0]) if h[0] not in varying
        ]
    limited = client.get(path)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    conditional = {"If-None-Match": answers[0].headers["ETag"]}
    assert client.get(path, headers=conditional).status_code == 429


def test_each_origin_gets_its_own_cors_headers(client, users):
    make_article("Harbour lights")
    path = "/api/v1/articles"
    client.get(path, headers={"Origin": "https://y.example"})
    client.get(path, headers={"Origin": "https://y.example"})
    for origin in ("https://x.example", "https://x.example", "https://y.example"):
        response = client.get(path, headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in response.headers.get_all("Vary")
    assert client.get(path).headers["Access-Control-Allow-Origin"] == "*"


def test_previews_and_the_editor_api_are_never_answered_from_the_cache(
    client, users, headers, statements
):
    draft = make_article("Secret merger talks", status="draft", author=users["writer"])
    link = client.post(f"/api/v1/editor/articles/{draft.id}/preview", headers=headers["writer"])
    paths = [
        (link.get_json()["url"], {}),
        (f"/api/v1/editor/articles/{draft.id}", headers["writer"]),
        ("/api/v1/editor/articles", headers["writer"]),
    ]
    for path, sent in paths:
        first = client.get(path, headers=sent)
        with statements() as issued:
            again = client.get(path, headers=sent)
        assert first.status_code == again.status_code == 200, path
        assert again.headers["Cache-Control"] == "no-store"
        assert issued, path  # the app answered again


def test_reads_work_while_the_shared_cache_is_down(app, client, users, monkeypatch, caplog):
    from cms.cache.store import RedisStore, ResponseCache

    unreachable = ResponseCache(RedisStore("redis://127.0.0.1:9/0"), seconds=30)
    monkeypatch.setitem(app.extensions, "cms_response_cache", unreachable)
    article = make_article("Harbour lights")
    for _ in range(2):
        response = client.get(f"/api/v1/articles/{article.slug}")
        assert response.status_code == 200
        assert response.get_json()["title"] == "Harbour lights"
    assert "response cache unavailable" in caplog.text


def test_apps_on_different_databases_never_share_entries_in_one_redis():
    import redis

    from cms.cache.store import CachedResponse, RedisStore, database_namespace

    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_timeout=0.5).ping()
    except redis.exceptions.RedisError:
        pytest.skip("needs Redis at 127.0.0.1:6379")
    staging = RedisStore(url, database_namespace("postgresql://db/staging"))
    production = RedisStore(url, database_namespace("postgresql://db/production"))
    entry = CachedResponse(0, 200, (("Content-Type", "application/json"),), b'{"staging":1}')
    staging.set("https  /api/v1/articles?", entry, ttl=30)
    assert staging.lookup("https  /api/v1/articles?")[1] == entry
    assert production.lookup("https  /api/v1/articles?")[1] is None
