"""Cursor pagination: complete, ordered and stable while new articles are published."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest

from cms.pagination import encode_cursor
from tests.conftest import make_article

PLAIN = [{"type": "paragraph", "text": "A short paragraph."}]
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _publish(title, when):
    return make_article(title, published_at=when, body=PLAIN, sources=[]).slug


def _next_url(response) -> str | None:
    header = response.headers.get("Link")
    if header is None:
        return None
    match = LINK.match(header)
    assert match, header
    return match["url"]


def _walk(client, url, *, between=None):
    """Follow ``Link`` headers from ``url``; return the slugs of every page, page by page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        payload = response.get_json()
        pages.append([item["slug"] for item in payload["data"]])
        url = _next_url(response)
        # the Link header and meta.next_cursor agree
        assert (url is None) == (payload["meta"]["next_cursor"] is None)
        if url:
            assert f"cursor={payload['meta']['next_cursor']}" in url
            assert url.startswith("/api/v1/")
        if between and url:
            between(len(pages))
    return pages


@pytest.fixture
def seven(users, clock):
    """Seven visible articles; three of them share one publication time (a tie)."""
    now = clock.now
    times = [now - timedelta(hours=h) for h in (7, 6, 5, 4, 4, 4, 1)]
    slugs = [_publish(f"Story {i}", when) for i, when in enumerate(times)]
    make_article("Draft in between", status="draft", body=PLAIN)
    # newest first; ties by id descending
    return list(reversed(slugs))


def test_walking_all_pages_returns_every_article_once_in_order(client, seven):
    pages = _walk(client, "/api/v1/articles?limit=2")

    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [slug for page in pages for slug in page] == seven


def test_page_size_equal_to_total_has_no_next_page(client, seven):
    response = client.get("/api/v1/articles?limit=7")
    assert response.get_json()["meta"] == {"limit": 7, "next_cursor": None}
    assert "Link" not in response.headers
    response = client.get("/api/v1/articles?limit=6")
    assert response.get_json()["meta"]["next_cursor"]
    assert _next_url(response)


def test_link_header_keeps_the_other_query_parameters(client, seven):
    response = client.get("/api/v1/articles?limit=2&section=news&fields=slug")
    url = _next_url(response)
    assert "limit=2" in url and "section=news" in url and "fields=slug" in url
    second = client.get(url).get_json()
    assert [item["slug"] for item in second["data"]] == seven[2:4]
    assert all(set(item) == {"slug"} for item in second["data"])


def test_publishing_between_page_fetches_causes_no_duplicates_or_skips(client, seven, clock):
    published = []

    def publish_more(pages_read):
        clock.advance(minutes=5)
        published.append(_publish(f"Breaking {pages_read}", clock.now - timedelta(seconds=1)))

    pages = _walk(client, "/api/v1/articles?limit=2", between=publish_more)
    seen = [slug for page in pages for slug in page]

    assert len(published) == 3
    assert seen == seven  # the walk started before the new ones: they come on a fresh walk
    assert len(seen) == len(set(seen))
    fresh = [slug for page in _walk(client, "/api/v1/articles?limit=3") for slug in page]
    assert fresh == list(reversed(published)) + seven


def test_back_dated_article_in_the_unread_part_shows_up_once(client, seven, clock):
    def publish_old(pages_read):
        if pages_read == 1:
            _publish("Late filing", clock.now - timedelta(hours=10))

    seen = [slug for page in _walk(client, "/api/v1/articles?limit=2", between=publish_old)
            for slug in page]

    assert seen == seven + ["late-filing"]


def test_taxonomy_lists_paginate_by_slug(client, users):
    pages = _walk(client, "/api/v1/tags?limit=2")
    assert pages == [["energy", "port"], ["secret-merger"]]
    assert _walk(client, "/api/v1/sections?limit=1") == [["news"], ["sport"]]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "not-base64-at-all",
        _b64(b"{}"),
        _b64(b"[1, 2]"),
        _b64(b'["2026-01-01T00:00:00", 3]'),  # no time zone
        _b64(b'["2026-01-01T00:00:00+00:00"]'),  # too short
        _b64(b'["2026-01-01T00:00:00+00:00", "3"]'),
        _b64(b'["yesterday", 3]'),
        _b64(b"\xff\xfe"),
        "",
    ],
)
def test_bad_cursor_is_400(client, users, cursor):
    response = client.get(f"/api/v1/articles?cursor={cursor}")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "cursor" in response.get_json()["errors"]


def test_cursor_of_another_collection_is_400(client, seven):
    tags_cursor = encode_cursor(["energy"])
    assert client.get(f"/api/v1/articles?cursor={tags_cursor}").status_code == 400
    articles_cursor = client.get("/api/v1/articles?limit=1").get_json()["meta"]["next_cursor"]
    assert client.get(f"/api/v1/tags?cursor={articles_cursor}").status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_limit_out_of_range_is_400(client, users, limit):
    response = client.get(f"/api/v1/articles?limit={limit}")

    assert response.status_code == 400
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "limit" in problem["errors"]


@pytest.mark.parametrize("path", ["/api/v1/tags", "/api/v1/authors"])
def test_taxonomy_limit_out_of_range_is_400(client, users, path):
    assert client.get(f"{path}?limit=101").status_code == 400
    assert client.get(f"{path}?limit=0").status_code == 400


def test_limit_bounds_are_accepted(client, seven):
    assert client.get("/api/v1/articles?limit=1").get_json()["meta"]["limit"] == 1
    full = client.get("/api/v1/articles?limit=100").get_json()
    assert full["meta"] == {"limit": 100, "next_cursor": None}
    assert [item["slug"] for item in full["data"]] == seven
