"""Editor article API: create, validation, optimistic locking, slugs, summary, curated links."""

from __future__ import annotations

import pytest

from cms.extensions import db
from tests.conftest import BODY, make_article

API = "/api/v1/editor/articles"
PUBLIC = "/api/v1/articles"

SMALL_BODY = [
    {"type": "paragraph", "text": "Alpha <b>beta</b> gamma <script>alert(1)</script>delta.",
     "attribution": {"source": "reuters"}},
    {"type": "heading", "text": "Epsilon zeta", "level": 2},
    {"type": "paragraph", "text": "Eta theta iota kappa."},
]


def _create(client, headers, **fields):
    payload = {"title": "Port handles record volume", "section": "news", "tags": ["energy"],
               "body": BODY, **fields}
    response = client.post(API, json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def _patch(client, article_id, payload, headers, etag=None):
    extra = {"If-Match": etag} if etag else {}
    return client.patch(f"{API}/{article_id}", json=payload, headers={**headers, **extra})


def _assert_422(response, *paths):
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    for path in paths:
        assert path in errors, errors
        assert all(isinstance(m, str) and m for m in errors[path])
    return errors


# --- create -----------------------------------------------------------------------------------


def test_create_derives_slug_html_text_counts_and_excerpt(client, headers):
    response = _create(client, headers["writer"], title="Hafen: Rekord für Westerhaven!",
                       body=SMALL_BODY)
    article = response.get_json()
    assert response.headers["ETag"] == f'"a{article["id"]}-v{article["version"]}"'
    assert response.headers["Cache-Control"] == "no-store"
    assert article["slug"] == "hafen-rekord-fuer-westerhaven"
    assert article["status"] == "draft"
    assert article["section"] == {"slug": "news", "name": "News"}
    assert article["tags"] == [{"slug": "energy", "name": "Energy"}]
    # The writer's author profile is used when no authors are given.
    assert [a["slug"] for a in article["authors"]] == ["ana-writer"]
    # The source named by a block is listed among the article's sources.
    assert [s["slug"] for s in article["sources"]] == ["reuters"]

    assert "<b>beta</b>" in article["body_html"]
    assert "<script" not in article["body_html"] and "alert(1)" not in article["body_html"]
    assert "<h2>" in article["body_html"]
    assert "<b>" not in article["body_text"] and "Alpha beta gamma" in article["body_text"]
    assert "Eta theta iota kappa." in article["body_text"]
    assert article["word_count"] == 10
    assert article["reading_time_minutes"] == 1
    assert article["excerpt"] == "Alpha beta gamma delta."
    assert article["body"][0]["text"] == "Alpha <b>beta</b> gamma delta."
    assert article["created_at"].endswith("Z")

    # The ETag is the same one a GET returns.
    again = client.get(f"{API}/{article['id']}", headers=headers["writer"])
    assert again.headers["ETag"] == response.headers["ETag"]


def test_same_title_gets_a_distinct_slug(client, headers):
    first = _create(client, headers["editor"]).get_json()
    second = _create(client, headers["editor"]).get_json()
    assert first["slug"] == "port-handles-record-volume"
    assert second["slug"] == "port-handles-record-volume-2"


def test_custom_excerpt_wins(client, headers):
    article = _create(client, headers["editor"], excerpt="Our own teaser.").get_json()
    assert article["excerpt"] == "Our own teaser."


def test_taken_slug_on_create_is_409(client, headers):
    _create(client, headers["editor"], slug="taken")
    response = client.post(API, json={"title": "Other", "slug": "taken"}, headers=headers["editor"])
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


# --- validation -------------------------------------------------------------------------------


def test_unknown_field_is_422_keyed_by_field(client, headers):
    response = client.post(API, json={"title": "Hello", "colour": "red"},
                           headers=headers["editor"])
    _assert_422(response, "colour")
    assert "colour" in response.get_json()["detail"]


def test_unknown_field_inside_a_block_is_422_keyed_by_path(client, headers):
    body = [{"type": "paragraph", "text": "Fine."},
            {"type": "paragraph", "text": "Also fine.", "font": "Comic Sans"}]
    _assert_422(client.post(API, json={"title": "Hello", "body": body}, headers=headers["editor"]),
                "body.1.font")


@pytest.mark.parametrize(
    "block, path",
    [
        ({"type": "paragraph", "text": ""}, "body.2.text"),
        ({"type": "paragraph"}, "body.2.text"),
        ({"type": "heading", "text": "Too deep", "level": 9}, "body.2.level"),
        ({"type": "list", "items": []}, "body.2.items"),
        ({"type": "image", "url": "javascript:alert(1)"}, "body.2.url"),
        ({"type": "marquee", "text": "Hi"}, "body.2.type"),
    ],
)
def test_invalid_block_is_422_keyed_by_block_path(client, headers, block, path):
    body = [{"type": "paragraph", "text": "One."}, {"type": "paragraph", "text": "Two."}, block]
    _assert_422(client.post(API, json={"title": "Hello", "body": body}, headers=headers["editor"]),
                path)


@pytest.mark.parametrize(
    "fields, path",
    [
        ({"tags": ["energy", "no-such-tag"]}, "tags.1"),
        ({"section": "no-such-section"}, "section"),
        ({"sources": ["no-such-source"]}, "sources.0"),
        ({"authors": ["nobody"]}, "authors.0"),
        ({"body": [{"type": "paragraph", "text": "Hi.",
                    "attribution": {"source": "no-such-source"}}]}, "body.0.attribution.source"),
    ],
)
def test_unknown_taxonomy_slug_is_422(client, headers, fields, path):
    response = client.post(API, json={"title": "Hello", **fields}, headers=headers["editor"])
    _assert_422(response, path)
    listed = client.get(f"{API}?count=true", headers=headers["editor"]).get_json()
    assert listed["meta"]["total"] == 0


def test_missing_title_and_non_json_body(client, headers):
    _assert_422(client.post(API, json={"body": []}, headers=headers["editor"]), "title")
    response = client.post(API, data="title=Hello", headers=headers["editor"],
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_unknown_query_parameter_is_400(client, headers):
    response = client.get(f"{API}?stauts=draft", headers=headers["editor"])
    assert response.status_code == 400
    assert "stauts" in response.get_json()["errors"]


# --- optimistic locking -----------------------------------------------------------------------


def test_patch_needs_a_precondition(client, headers):
    article = _create(client, headers["editor"]).get_json()
    response = _patch(client, article["id"], {"title": "New"}, headers["editor"])
    assert response.status_code == 428
    assert response.mimetype == "application/problem+json"
    assert "If-Match" in response.get_json()["detail"]


def test_if_match_guards_against_lost_updates(client, headers):
    created = _create(client, headers["editor"])
    article_id, etag = created.get_json()["id"], created.headers["ETag"]

    first = _patch(client, article_id, {"title": "Editor one"}, headers["editor"], etag)
    assert first.status_code == 200
    new_etag = first.headers["ETag"]
    assert new_etag != etag
    assert first.get_json()["title"] == "Editor one"
    assert first.get_json()["version"] == created.get_json()["version"] + 1

    # A second editor still holding the old ETag is refused, and nothing changes.
    second = _patch(client, article_id, {"title": "Editor two"}, headers["admin"], etag)
    assert second.status_code == 412
    assert second.mimetype == "application/problem+json"
    current = client.get(f"{API}/{article_id}", headers=headers["editor"])
    assert current.get_json()["title"] == "Editor one"
    assert current.headers["ETag"] == new_etag

    # Reloading gives the ETag that works.
    third = _patch(client, article_id, {"title": "Editor two"}, headers["admin"], new_etag)
    assert third.status_code == 200


def test_weak_and_garbage_if_match(client, headers):
    created = _create(client, headers["editor"])
    article_id, etag = created.get_json()["id"], created.headers["ETag"]
    assert _patch(client, article_id, {"title": "X"}, headers["editor"],
                  "not-an-etag").status_code == 412
    weak = _patch(client, article_id, {"title": "Y"}, headers["editor"], f"W/{etag}")
    assert weak.status_code == 200


def test_version_in_body_is_an_alternative_to_if_match(client, headers):
    article = _create(client, headers["editor"]).get_json()
    ok = _patch(client, article["id"], {"title": "By version", "version": article["version"]},
                headers["editor"])
    assert ok.status_code == 200
    assert ok.get_json()["title"] == "By version"
    stale = _patch(client, article["id"], {"title": "Stale", "version": article["version"]},
                   headers["editor"])
    assert stale.status_code == 412


def test_patch_validates_like_create(client, headers):
    created = _create(client, headers["editor"])
    article_id, etag = created.get_json()["id"], created.headers["ETag"]
    bad = _patch(client, article_id, {"body": [{"type": "paragraph", "text": "ok"},
                                               {"type": "quote"}]}, headers["editor"], etag)
    _assert_422(bad, "body.1.text")
    unknown = _patch(client, article_id, {"status": "published"}, headers["editor"], etag)
    _assert_422(unknown, "status")
    assert client.get(f"{API}/{article_id}", headers=headers["editor"]).headers["ETag"] == etag


def test_delete_then_404(client, headers):
    article = _create(client, headers["editor"]).get_json()
    response = client.delete(f"{API}/{article['id']}", headers=headers["editor"])
    assert response.status_code == 204
    missing = client.get(f"{API}/{article['id']}", headers=headers["editor"])
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert client.delete(f"{API}/{article['id']}", headers=headers["editor"]).status_code == 404


# --- slugs ------------------------------------------------------------------------------------


def test_slug_change_of_a_published_article_redirects(client, users, headers):
    article = make_article("Harbour story", status="published")
    old = article.slug
    response = client.patch(f"{API}/{article.id}", json={"slug": "harbour-story-updated"},
                            headers={**headers["editor"], "If-Match": _etag_of(article)})
    assert response.status_code == 200
    assert response.get_json()["slug"] == "harbour-story-updated"

    for suffix, query in (("", "?formats=html"), ("/summary", ""), ("/related", "?limit=3")):
        moved = client.get(f"{PUBLIC}/{old}{suffix}{query}")
        assert moved.status_code == 301, suffix
        assert moved.headers["Location"] == f"{PUBLIC}/harbour-story-updated{suffix}{query}"
        assert client.get(moved.headers["Location"]).status_code == 200

    # The old slug stays reserved for the redirect.
    other = make_article("Other story", status="draft")
    taken = client.patch(f"{API}/{other.id}", json={"slug": old},
                         headers={**headers["editor"], "If-Match": _etag_of(other)})
    assert taken.status_code == 409
    assert taken.get_json()["errors"] == {"slug": ["Already in use."]}
    create = client.post(API, json={"title": "Third", "slug": old}, headers=headers["editor"])
    assert create.status_code == 409
    assert client.get(f"{PUBLIC}/{old}").status_code == 301


def test_article_can_take_back_its_former_slug(client, users, headers):
    article = make_article("Harbour story", status="published")
    old = article.slug
    first = client.patch(f"{API}/{article.id}", json={"slug": "interim"},
                         headers={**headers["editor"], "If-Match": _etag_of(article)})
    back = client.patch(f"{API}/{article.id}", json={"slug": old},
                        headers={**headers["editor"], "If-Match": first.headers["ETag"]})
    assert back.status_code == 200
    assert client.get(f"{PUBLIC}/{old}").status_code == 200
    assert client.get(f"{PUBLIC}/interim").status_code == 301


def _etag_of(article) -> str:
    db.session.refresh(article)
    return f'"a{article.id}-v{article.version}"'


# --- summary ----------------------------------------------------------------------------------

EDITOR_SUMMARY = {
    "tldr": "Westerhaven's port had a record year, and automation worries its workers.",
    "key_points": [
        {"text": "A record 4.2 million containers.", "block_index": 0},
        {"text": "Dockworkers fear automation.", "block_index": 2},
        {"text": "Three new routes to Asia.", "block_index": 5},
    ],
}


def test_editor_summary_goes_stale_when_the_body_changes(client, users, headers):
    article = make_article("Port handles record volume", status="published")
    url = f"{API}/{article.id}/summary"
    written = client.put(url, json=EDITOR_SUMMARY, headers=headers["editor"])
    assert written.status_code == 200, written.get_json()
    summary = written.get_json()
    assert summary["origin"] == "editor" and summary["stale"] is False
    assert summary["key_points"][0]["attribution"] == {"source": "handelsblatt"}
    assert summary["key_points"][2]["attribution"] is None

    body = [*BODY, {"type": "paragraph", "text": "A late addition to the story."}]
    patched = client.patch(f"{API}/{article.id}", json={"body": body},
                           headers={**headers["editor"], "If-Match": _etag_of(article)})
    assert patched.status_code == 200
    assert patched.get_json()["summary"]["stale"] is True

    editor_view = client.get(url, headers=headers["editor"]).get_json()
    assert editor_view["stale"] is True
    assert editor_view["tldr"] == EDITOR_SUMMARY["tldr"]
    assert editor_view["source_revision"] < editor_view["article_revision"]

    public = client.get(f"{PUBLIC}/{article.slug}/summary")
    assert public.status_code == 200
    assert public.get_json()["tldr"] == EDITOR_SUMMARY["tldr"]
    assert public.get_json()["origin"] == "editor"
    assert "stale" not in public.get_json()
    assert "stale" not in client.get(f"{PUBLIC}/{article.slug}").get_json()["summary"]

    # Confirming it (writing it again) clears the flag.
    confirmed = client.put(url, json=EDITOR_SUMMARY, headers=headers["editor"]).get_json()
    assert confirmed["stale"] is False


def test_deleting_the_editor_summary_brings_back_the_automatic_one(client, users, headers):
    article = make_article("Port handles record volume", status="published")
    url = f"{API}/{article.id}/summary"
    auto = client.get(url, headers=headers["editor"]).get_json()
    assert auto["origin"] == "auto"
    client.put(url, json=EDITOR_SUMMARY, headers=headers["editor"])
    assert client.get(f"{PUBLIC}/{article.slug}/summary").get_json()["origin"] == "editor"

    assert client.delete(url, headers=headers["editor"]).status_code == 204
    again = client.get(url, headers=headers["editor"]).get_json()
    assert again["origin"] == "auto"
    assert again["tldr"] == auto["tldr"]
    public = client.get(f"{PUBLIC}/{article.slug}/summary").get_json()
    assert public["origin"] == "auto" and public["tldr"] == auto["tldr"]


def test_summary_key_point_must_point_into_the_body(client, users, headers):
    article = make_article("Port handles record volume", status="draft")
    response = client.put(
        f"{API}/{article.id}/summary",
        json={"tldr": "Short.", "key_points": [{"text": "Nope.", "block_index": 99}]},
        headers=headers["editor"],
    )
    _assert_422(response, "key_points.0.block_index")


def test_generate_offers_a_summary_without_saving_it(client, users, headers):
    article = make_article("Port handles record volume", status="published")
    client.put(f"{API}/{article.id}/summary", json=EDITOR_SUMMARY, headers=headers["editor"])
    offered = client.post(f"{API}/{article.id}/summary/generate", headers=headers["editor"])
    assert offered.status_code == 200
    assert offered.get_json()["origin"] == "auto"
    assert 3 <= len(offered.get_json()["key_points"]) <= 5
    stored = client.get(f"{API}/{article.id}/summary", headers=headers["editor"]).get_json()
    assert stored["origin"] == "editor"


# --- curated related links --------------------------------------------------------------------


def test_curated_links_come_first_publicly_and_skip_unpublished(client, users, headers):
    main = make_article("Port handles record volume", status="published")
    background = make_article("Port history in ten charts", status="published")
    draft = make_article("Port strike looms", status="draft")
    links = [
        {"article_id": draft.id, "label": "Follow-up"},
        {"article_id": background.id, "label": "Background"},
        {"url": "https://example.org/port-report", "title": "The port's annual report"},
    ]
    response = client.put(f"{API}/{main.id}/related", json={"links": links},
                          headers=headers["editor"])
    assert response.status_code == 200, response.get_json()
    stored = response.get_json()["links"]
    assert [link["article_id"] for link in stored] == [draft.id, background.id, None]
    assert stored[2]["url"] == "https://example.org/port-report"
    assert client.get(f"{API}/{main.id}/related",
                      headers=headers["editor"]).get_json()["links"] == stored

    related = client.get(f"{PUBLIC}/{main.slug}/related").get_json()["related"]
    curated = [item for item in related if item["kind"] == "curated"]
    assert related[: len(curated)] == curated
    assert len(curated) == 2
    assert curated[0]["article"]["slug"] == background.slug
    assert curated[0]["label"] == "Background"
    assert curated[0]["title"] == background.title
    assert curated[1]["article"] is None
    assert curated[1]["url"] == "https://example.org/port-report"
    assert curated[1]["title"] == "The port's annual report"
    assert all(item["article"] is None or item["article"]["slug"] != draft.slug
               for item in related)

    # Once the linked draft is published, it appears in its curated place.
    publish = client.post(f"{API}/{draft.id}/publish",
                          headers={**headers["editor"], "If-Match": _etag_of(draft)})
    assert publish.status_code == 200
    related = client.get(f"{PUBLIC}/{main.slug}/related").get_json()["related"]
    assert [item["title"] for item in related[:3]] == [
        "Port strike looms", "Port history in ten charts", "The port's annual report"]


@pytest.mark.parametrize("link, path", [
    ("self", "links.0.article_id"),
    ({"article_id": 999999}, "links.0.article_id"),
    ({"url": "https://example.org/x"}, "links.0.title"),
    ({"url": "ftp://example.org/x", "title": "FTP"}, "links.0.url"),
    ({"label": "Nothing to link"}, "links.0.article_id"),
])
def test_invalid_related_links_are_422(client, users, headers, link, path):
    main = make_article("Port handles record volume", status="published")
    if link == "self":
        link = {"article_id": main.id}
    response = client.put(f"{API}/{main.id}/related", json={"links": [link]},
                           headers=headers["editor"])
    _assert_422(response, path)
    assert client.get(f"{API}/{main.id}/related", headers=headers["editor"]).get_json() == {
        "links": []}


# --- caching ----------------------------------------------------------------------------------


def test_editor_responses_are_no_store(client, users, headers):
    article = make_article("Port handles record volume", status="published")
    responses = [
        client.get(API, headers=headers["editor"]),
        client.get(f"{API}/{article.id}", headers=headers["editor"]),
        client.get(f"{API}/{article.id}/summary", headers=headers["editor"]),
        client.get(f"{API}/{article.id}/related", headers=headers["editor"]),
        client.get(f"{API}/999999", headers=headers["editor"]),
        client.get(API),
        client.post(API, json={"nope": 1}, headers=headers["editor"]),
        client.patch(f"{API}/{article.id}", json={"title": "x"}, headers=headers["editor"]),
        client.get("/api/v1/editor/sections", headers=headers["editor"]),
        client.get("/api/v1/editor/users", headers=headers["admin"]),
        client.get("/api/v1/editor/users", headers=headers["writer"]),
    ]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store", (
            response.status_code, response.headers.get("Cache-Control"))


# --- the answer to a write --------------------------------------------------------------------


def test_the_answer_to_each_write_is_what_a_fresh_read_returns(client, headers, clock):
    """A write answers with the article as written (made before its commit): the same JSON and
    ETag as reading the article back right after."""
    from datetime import timedelta, timezone

    editor = headers["editor"]

    def same_as_read(response):
        assert response.status_code in (200, 201), response.get_json()
        article_id = response.get_json()["id"]
        read = client.get(f"{API}/{article_id}", headers=editor)
        assert response.get_json() == read.get_json()
        assert response.headers["ETag"] == read.headers["ETag"]
        return response

    made = same_as_read(_create(client, editor, body=SMALL_BODY, tags=["port", "energy"],
                                authors=["ed-itor", "ana-writer"], sources=["handelsblatt"],
                                hero_image={"url": "https://img.example.org/a.jpg",
                                            "alt": "The port"}))
    article_id = made.get_json()["id"]
    edited = same_as_read(_patch(client, article_id, {"title": "Port volume revised",
                                                      "tags": ["energy"], "sources": []},
                                 editor, made.headers["ETag"]))
    later = (clock.now + timedelta(days=2)).astimezone(timezone(timedelta(hours=-5)))
    scheduled = same_as_read(client.post(
        f"{API}/{article_id}/publish", json={"publish_at": later.isoformat()},
        headers={**editor, "If-Match": edited.headers["ETag"]}))
    assert scheduled.get_json()["status"] == "scheduled"
    published = same_as_read(client.post(
        f"{API}/{article_id}/publish", json={},
        headers={**editor, "If-Match": scheduled.headers["ETag"]}))
    assert published.get_json()["status"] == "published"
    same_as_read(client.post(f"{API}/{article_id}/unpublish", json={},
                             headers={**editor, "If-Match": published.headers["ETag"]}))


def test_create_and_publish_statement_counts(client, headers):
    """What one create and one publish send to the database, bounded (35 and 34 on PostgreSQL,
    38 and 37 on SQLite before the write path was trimmed: reading the article back after the
    commit, separate lock and update statements per count row, the user read apart from the
    login, the revision number of a new article; then 25 and 27, 28 and 34, before a draft's
    card, counted memberships, stored features and event state were no longer read or
    written, the summary and tags were read with the article, and on PostgreSQL the link
    rows' copies of the publication time and a new article's features and index keys were one
    statement each). On PostgreSQL the count rows are locked and then updated by two statements
    (as one, concurrent publishes deadlocked); before, by two per taxonomy the publish counts
    in (27 for the publish), and the memberships of a draft being published were read."""
    from tests.conftest import recorded_statements

    editor = headers["editor"]
    _create(client, editor, title="Warm-up", body=SMALL_BODY)  # first-use lookups
    with recorded_statements() as created:
        made = _create(client, editor, body=SMALL_BODY, tags=["port", "energy"],
                       sources=["handelsblatt"])
    with recorded_statements() as published:
        done = client.post(f"{API}/{made.get_json()['id']}/publish", json={},
                           headers={**editor, "If-Match": made.headers["ETag"]})
    assert done.status_code == 200
    bounds = {"postgresql": (18, 20), "sqlite": (22, 31)}[db.engine.dialect.name]
    assert len(created) <= bounds[0] and len(published) <= bounds[1], (created, published)
