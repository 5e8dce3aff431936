"""The public read API as a front end uses it: lists, filters, detail, summary, taxonomies."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from cms.text import rfc3339
from tests.conftest import make_article

CARD_KEYS = {
    "id", "slug", "title", "subtitle", "section", "tags", "authors", "sources", "language",
    "published_at", "first_published_at", "updated_at", "excerpt", "hero_image",
    "canonical_url", "word_count", "reading_time_minutes", "links",
}
BODY_KEYS = {"body", "body_html", "body_text"}
SUMMARY_KEYS = {
    "tldr", "key_points", "origin", "source_revision", "updated_at", "reading_time_seconds",
}
PLAIN = [{"type": "paragraph", "text": "A plain paragraph without any attribution at all."}]


def _slugs(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["slug"] for item in response.get_json()["data"]]


# --- list ------------------------------------------------------------------------------------


def test_list_is_newest_first_in_the_collection_shape(client, users, ago):
    make_article("Oldest story", published_at=ago(hours=3))
    make_article("Newest story", published_at=ago(hours=1))
    make_article("Middle story", published_at=ago(hours=2))

    response = client.get("/api/v1/articles")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    payload = response.get_json()
    assert set(payload) == {"data", "meta"}
    assert payload["meta"] == {"limit": 20, "next_cursor": None}
    assert _slugs(response) == ["newest-story", "middle-story", "oldest-story"]
    assert "Link" not in response.headers


def test_total_only_when_asked_for(client, users, ago):
    for i in range(3):
        make_article(f"Story {i}", published_at=ago(hours=i + 1))
    make_article("Draft story", status="draft")

    assert "total" not in client.get("/api/v1/articles").get_json()["meta"]
    assert "total" not in client.get("/api/v1/articles?count=false").get_json()["meta"]
    meta = client.get("/api/v1/articles?count=true&limit=1").get_json()["meta"]
    assert meta["total"] == 3
    assert meta["limit"] == 1


def test_list_items_carry_no_body(client, users):
    make_article("Story with a long body")

    item = client.get("/api/v1/articles").get_json()["data"][0]

    assert set(item) == CARD_KEYS
    assert not BODY_KEYS & set(item)
    assert "summary" not in item
    assert item["published_at"].endswith("Z")


@pytest.fixture
def catalogue(users, ago):
    """Four visible articles differing in every filterable property (and one draft)."""
    make_article("Alpha energy news", published_at=ago(hours=4), section="news",
                 tags=["energy"], authors=["ana-writer"], sources=["handelsblatt"],
                 language="en", body=PLAIN)
    make_article("Bravo sport story", published_at=ago(hours=3), section="sport",
                 tags=["port"], authors=["ed-itor"], sources=[], language="de", body=PLAIN)
    make_article("Charlie port news", published_at=ago(hours=2), section="news",
                 tags=["energy", "port"], authors=[], sources=[], language="en",
                 body=[{"type": "paragraph", "text": "Cited only in the body.",
                        "attribution": {"source": "reuters"}}])
    make_article("Delta plain news", published_at=ago(hours=1), section="news", tags=[],
                 authors=["ana-writer", "ed-itor"], sources=[], language="en", body=PLAIN)
    make_article("Echo draft news", status="draft", section="sport", tags=["port"],
                 authors=["ed-itor"], sources=["reuters"], language="de", body=PLAIN)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("section=news", ["delta-plain-news", "charlie-port-news", "alpha-energy-news"]),
        ("section=sport", ["bravo-sport-story"]),
        ("tag=energy", ["charlie-port-news", "alpha-energy-news"]),
        ("tag=port", ["charlie-port-news", "bravo-sport-story"]),
        ("author=ed-itor", ["delta-plain-news", "bravo-sport-story"]),
        ("author=ana-writer", ["delta-plain-news", "alpha-energy-news"]),
        ("source=handelsblatt", ["alpha-energy-news"]),
        # a source named only by a block attribution counts as cited
        ("source=reuters", ["charlie-port-news"]),
        ("language=de", ["bravo-sport-story"]),
        ("section=news&tag=port", ["charlie-port-news"]),
        ("section=no-such-section", []),
        ("tag=secret-merger", []),
    ],
)
def test_list_filters(client, catalogue, query, expected):
    assert _slugs(client.get(f"/api/v1/articles?{query}")) == expected


def test_list_filters_by_publication_time(client, catalogue, ago):
    cut = quote(rfc3339(ago(hours=2, minutes=30)))
    after = client.get(f"/api/v1/articles?published_after={cut}")
    before = client.get(f"/api/v1/articles?published_before={cut}")

    assert _slugs(after) == ["delta-plain-news", "charlie-port-news"]
    assert _slugs(before) == ["bravo-sport-story", "alpha-energy-news"]

    window = client.get(
        f"/api/v1/articles?published_after={quote(rfc3339(ago(hours=3, minutes=30)))}"
        f"&published_before={quote(rfc3339(ago(hours=1, minutes=30)))}"
    )
    assert _slugs(window) == ["charlie-port-news", "bravo-sport-story"]


@pytest.mark.parametrize(
    "query",
    [
        "published_after=yesterday",
        "published_after=2026-01-01T00:00:00",  # no offset: ambiguous
        "section=Not%20A%20Slug",
        "count=maybe",
    ],
)
def test_bad_filter_values_are_400(client, catalogue, query):
    response = client.get(f"/api/v1/articles?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_sparse_fieldsets(client, catalogue):
    payload = client.get("/api/v1/articles?fields=slug,title").get_json()

    assert len(payload["data"]) == 4
    assert all(set(item) == {"slug", "title"} for item in payload["data"])
    assert payload["data"][0] == {"slug": "delta-plain-news", "title": "Delta plain news"}


@pytest.mark.parametrize("fields", ["slug,nonsense", "body", "body_html", ""])
def test_unknown_field_in_fieldset_is_400(client, catalogue, fields):
    response = client.get(f"/api/v1/articles?fields={fields}")

    assert response.status_code == 400
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "fields" in problem["errors"]


# --- detail ----------------------------------------------------------------------------------


def test_detail_has_bodies_summary_sources_and_links(client, users):
    article = make_article("Port handles record volume", sources=["handelsblatt"],
                           authors=["ana-writer"])

    response = client.get(f"/api/v1/articles/{article.slug}")

    assert response.status_code == 200
    detail = response.get_json()
    assert set(detail) >= BODY_KEYS
    assert [block["type"] for block in detail["body"]] == [
        "paragraph", "heading", "paragraph", "quote", "list", "paragraph"
    ]
    assert detail["body"][0]["attribution"] == {"source": "handelsblatt"}
    assert detail["body_html"].startswith("<p>")
    assert "<b>pace of automation</b>" in detail["body_html"]
    assert "<" not in detail["body_text"]
    assert "pace of automation" in detail["body_text"]
    assert set(detail["summary"]) == SUMMARY_KEYS
    assert detail["status"] == "published"
    assert detail["authors"] == [{"slug": "ana-writer", "name": "Ana Writer"}]
    assert detail["links"] == {
        "self": f"/api/v1/articles/{article.slug}",
        "summary": f"/api/v1/articles/{article.slug}/summary",
        "related": f"/api/v1/articles/{article.slug}/related",
    }


def test_detail_sources_list_article_level_and_block_cited_ones(client, users):
    body = [
        {"type": "paragraph", "text": "Reported by an agency.",
         "attribution": {"source": "reuters"}},
        {"type": "paragraph", "text": "Nothing cited here."},
    ]
    article = make_article("Sourced story", sources=["handelsblatt"], body=body)

    detail = client.get(f"/api/v1/articles/{article.slug}").get_json()

    by_slug = {s["slug"]: s for s in detail["sources"]}
    assert set(by_slug) == {"handelsblatt", "reuters"}
    assert by_slug["reuters"] == {"slug": "reuters", "name": "Reuters",
                                  "url": "https://www.reuters.com", "kind": "agency"}
    # every source a block names is listed
    cited = {b["attribution"]["source"] for b in detail["body"] if b["attribution"]}
    assert cited <= set(by_slug)


@pytest.mark.parametrize(
    ("formats", "present"),
    [
        ("html", {"body_html"}),
        ("text", {"body_text"}),
        ("blocks", {"body"}),
        ("blocks,text", {"body", "body_text"}),
        ("html,blocks,text", BODY_KEYS),
    ],
)
def test_formats_narrow_the_detail(client, users, formats, present):
    article = make_article("Story in formats")

    detail = client.get(f"/api/v1/articles/{article.slug}?formats={formats}").get_json()

    assert BODY_KEYS & set(detail) == present
    assert detail["title"] == "Story in formats"
    assert "summary" in detail


@pytest.mark.parametrize("formats", ["pdf", "html,pdf", ""])
def test_unknown_format_is_400(client, users, formats):
    article = make_article("Story in formats")
    response = client.get(f"/api/v1/articles/{article.slug}?formats={formats}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.fixture
def timeline(users, ago):
    """Publication order A < B < (S, C tied on published_at) < D; S is in sport, others news."""
    tie = ago(hours=2)
    order = [
        make_article("Story A", published_at=ago(hours=4), body=PLAIN, sources=[]),
        make_article("Story B", published_at=ago(hours=3), body=PLAIN, sources=[]),
        make_article("Story S", published_at=tie, section="sport", body=PLAIN, sources=[]),
        make_article("Story C", published_at=tie, body=PLAIN, sources=[]),
        make_article("Story D", published_at=ago(hours=1), body=PLAIN, sources=[]),
    ]
    make_article("Story hidden draft", status="draft", body=PLAIN)
    return [a.slug for a in order]


def _pair(payload):
    return (
        payload["previous"] and payload["previous"]["slug"],
        payload["next"] and payload["next"]["slug"],
    )


def test_previous_and_next_are_site_wide_in_publication_order(client, timeline):
    for i, slug in enumerate(timeline):
        detail = client.get(f"/api/v1/articles/{slug}").get_json()
        expected_previous = timeline[i - 1] if i else None
        expected_next = timeline[i + 1] if i + 1 < len(timeline) else None
        assert _pair(detail) == (expected_previous, expected_next), slug
    neighbour = client.get(f"/api/v1/articles/{timeline[1]}").get_json()["next"]
    assert set(neighbour) == {"id", "slug", "title", "published_at"}


def test_list_order_breaks_publication_ties_by_id(client, timeline):
    assert _slugs(client.get("/api/v1/articles")) == list(reversed(timeline))


def test_related_scope_section_gives_the_sections_pair(client, timeline):
    a, b, s, c, d = timeline

    site = client.get(f"/api/v1/articles/{b}/related").get_json()
    section = client.get(f"/api/v1/articles/{b}/related?scope=section").get_json()
    sport = client.get(f"/api/v1/articles/{s}/related?scope=section").get_json()

    assert _pair(site) == (a, s)
    assert _pair(section) == (a, c)
    assert _pair(sport) == (None, None)
    assert _pair(client.get(f"/api/v1/articles/{c}/related?scope=section").get_json()) == (b, d)
    assert client.get(f"/api/v1/articles/{b}/related?scope=world").status_code == 400


# --- summary ---------------------------------------------------------------------------------


def test_automatic_summary_shape_and_provenance(client, users):
    article = make_article("Port handles record volume")

    response = client.get(f"/api/v1/articles/{article.slug}/summary")

    assert response.status_code == 200
    summary = response.get_json()
    assert set(summary) == SUMMARY_KEYS  # no "stale" publicly
    assert summary["origin"] == "auto"
    assert summary["source_revision"] == 1
    assert summary["updated_at"].endswith("Z")
    assert isinstance(summary["tldr"], str) and summary["tldr"]
    assert summary["reading_time_seconds"] > 0
    assert 3 <= len(summary["key_points"]) <= 5
    detail = client.get(f"/api/v1/articles/{article.slug}").get_json()
    for point in summary["key_points"]:
        assert set(point) == {"text", "block_index", "attribution"}
        block = detail["body"][point["block_index"]]
        # extractive: the point's sentence is in the block it names, with that block's source
        assert point["text"] in (block.get("text") or " ".join(block.get("items", [])))
        assert point["attribution"] == block["attribution"]
    assert any(p["attribution"] == {"source": "reuters"} for p in summary["key_points"])
    assert detail["summary"] == summary


def test_editor_summary_is_public_without_stale_flag(client, users, headers):
    article = make_article("Port handles record volume")
    put = client.put(
        f"/api/v1/editor/articles/{article.id}/summary",
        json={"tldr": "Record volume at the port.",
              "key_points": [{"text": "Record volume", "block_index": 0},
                             {"text": "Union ballot", "block_index": 2},
                             {"text": "New routes", "block_index": None}]},
        headers=headers["editor"],
    )
    assert put.status_code == 200, put.get_json()
    # the body changes afterwards: editors see the summary as stale, readers never see the flag
    etag = client.get(f"/api/v1/editor/articles/{article.id}",
                      headers=headers["editor"]).headers["ETag"]
    patch = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"body": [{"type": "paragraph", "text": "A rewritten body."}]},
        headers={**headers["editor"], "If-Match": etag},
    )
    assert patch.status_code == 200, patch.get_json()
    assert client.get(f"/api/v1/editor/articles/{article.id}/summary",
                      headers=headers["editor"]).get_json()["stale"] is True

    summary = client.get(f"/api/v1/articles/{article.slug}/summary").get_json()
    detail = client.get(f"/api/v1/articles/{article.slug}").get_json()

    assert set(summary) == SUMMARY_KEYS
    assert summary["origin"] == "editor"
    assert summary["tldr"] == "Record volume at the port."
    assert summary["key_points"][0] == {"text": "Record volume", "block_index": 0,
                                        "attribution": {"source": "handelsblatt"}}
    assert summary["key_points"][2]["attribution"] is None
    assert "stale" not in detail["summary"]
    assert detail["summary"] == summary


# --- taxonomies ------------------------------------------------------------------------------


def test_taxonomy_lists_with_article_counts(client, catalogue):
    def counts(kind):
        response = client.get(f"/api/v1/{kind}")
        assert response.status_code == 200
        payload = response.get_json()
        assert set(payload) == {"data", "meta"}
        return {item["slug"]: item["article_count"] for item in payload["data"]}

    assert counts("sections") == {"news": 3, "sport": 1}
    assert counts("tags") == {"energy": 2, "port": 2, "secret-merger": 0}
    assert counts("authors") == {"ana-writer": 2, "ed-itor": 2}
    assert counts("sources") == {"handelsblatt": 1, "reuters": 1}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/sections/news", {"slug": "news", "name": "News", "article_count": 3}),
        ("/api/v1/tags/port", {"slug": "port", "name": "Port", "article_count": 2}),
        ("/api/v1/authors/ed-itor", {"slug": "ed-itor", "name": "Ed Itor", "article_count": 2}),
        ("/api/v1/sources/reuters", {"slug": "reuters", "kind": "agency", "article_count": 1}),
    ],
)
def test_taxonomy_detail(client, catalogue, path, expected):
    response = client.get(path)
    assert response.status_code == 200
    item = response.get_json()
    assert {k: item[k] for k in expected} == expected


@pytest.mark.parametrize("kind", ["sections", "tags", "authors", "sources"])
def test_missing_taxonomy_entry_is_404(client, catalogue, kind):
    response = client.get(f"/api/v1/{kind}/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_authors_never_expose_private_data(client, catalogue, users):
    assert users["writer"].email == "writer@example.org"  # linked to the ana-writer profile
    responses = [
        client.get("/api/v1/authors"),
        client.get("/api/v1/authors/ana-writer"),
        client.get("/api/v1/articles"),
        client.get("/api/v1/articles/alpha-energy-news"),
        client.get("/api/v1/articles/alpha-energy-news/related"),
    ]
    for response in responses:
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "@example.org" not in text
        assert "password" not in text and "role" not in text
    profile = client.get("/api/v1/authors/ana-writer").get_json()
    assert set(profile) == {"slug", "name", "bio", "avatar_url", "article_count"}
    for item in client.get("/api/v1/authors").get_json()["data"]:
        assert set(item) == {"slug", "name", "bio", "avatar_url", "article_count"}
    detail = client.get("/api/v1/articles/alpha-energy-news").get_json()
    assert detail["authors"] == [{"slug": "ana-writer", "name": "Ana Writer"}]
    assert json.dumps(detail).count("ana-writer") >= 1
