"""Full-text search (``GET /api/v1/search``) as a reader and an editor notice it, on the
database's own engine: FTS5 on SQLite, tsvector/GIN on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article, Tag
from cms.services.content import articles as article_service
from cms.services.content import taxonomy
from cms.services.search import index as search_index
from cms.services.search import service as search
from cms.services.search.query import parse_query
from cms.text import rfc3339
from tests.conftest import make_article


def _para(text: str) -> list[dict]:
    return [{"type": "paragraph", "text": text, "attribution": None}]


def _search(client, q: str, **params):
    response = client.get("/api/v1/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response


def _slugs(client, q: str, **params) -> list[str]:
    return [hit["slug"] for hit in _search(client, q, **params).get_json()["data"]]


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def newsroom(users, ago):
    """A few published stories about a dock strike and the city around it."""
    make_article(
        "Dockworkers strike at Westerhaven terminal",
        body=_para("Cranes stood still on Monday as the union called out its members."),
        published_at=ago(hours=5),
    )
    make_article(
        "City council approves new budget",
        body=_para(
            "The budget debate was overshadowed by the strike at the docks, which the mayor "
            "called regrettable. The port authority declined to comment."
        ),
        published_at=ago(hours=4),
    )
    make_article(
        "Regatta week returns to the harbour",
        subtitle="Boats from twelve countries",
        body=_para("The authority of the port approved the route for the sailing regatta."),
        tags=["port"],
        published_at=ago(hours=3),
    )


# --- the response ------------------------------------------------------------------------------


def test_hits_are_article_cards_with_score_and_snippet(client, newsroom):
    response = _search(client, "strike")

    payload = response.get_json()
    assert set(payload) == {"data", "meta"}
    assert payload["meta"] == {"limit": 20, "next_cursor": None, "matched": "all"}
    hit = payload["data"][0]
    assert {"id", "slug", "title", "section", "tags", "links", "score", "snippet"} <= set(hit)
    assert "body" not in hit and "body_text" not in hit
    assert isinstance(hit["score"], float)
    assert response.headers["Cache-Control"].startswith("public")


def test_title_hit_ranks_above_body_only_hit(client, newsroom):
    slugs = _slugs(client, "strike")

    assert slugs == [
        "dockworkers-strike-at-westerhaven-terminal",
        "city-council-approves-new-budget",
    ]


def test_tags_and_subtitle_are_searched(client, newsroom):
    assert _slugs(client, "twelve countries") == ["regatta-week-returns-to-the-harbour"]
    # The tag "Port" is on the regatta story only; the budget story says "port" in its body.
    assert _slugs(client, "port")[0] == "regatta-week-returns-to-the-harbour"


def test_stemming_finds_other_forms_of_a_word(client, newsroom):
    assert "dockworkers-strike-at-westerhaven-terminal" in _slugs(client, "strikes")
    assert "dockworkers-strike-at-westerhaven-terminal" in _slugs(client, "striking")


def test_german_article_is_stemmed_as_german(client, users, ago):
    make_article(
        "Gewerkschaften drohen mit Streiks in den Häfen",
        language="de",
        body=_para("Die Verhandlungen über die Löhne der Hafenarbeiter sind gescheitert."),
        published_at=ago(hours=1),
    )

    # Exact words (case and diacritics folded) are found on every database.
    assert _slugs(client, "häfen") == ["gewerkschaften-drohen-mit-streiks-in-den-haefen"]
    assert _slugs(client, "HAFEN") == ["gewerkschaften-drohen-mit-streiks-in-den-haefen"]
    if _postgres():
        # Inflected forms need a German stemmer: PostgreSQL has one, SQLite's FTS5 has none.
        assert _slugs(client, "Gewerkschaft Lohn") == [
            "gewerkschaften-drohen-mit-streiks-in-den-haefen"
        ]


def test_a_word_stemmed_away_in_one_language_matches_nothing_there(client, users, ago):
    """ "die" is an English word and a German stop word: English articles with it are found,
    German articles are not (neither all of them nor any)."""
    make_article(
        "Hafenarbeiter streiken",
        language="de",
        body=_para("Der Hafen steht still."),
        published_at=ago(hours=1),
    )
    make_article("Plants die in drought", body=_para("Farmers worry."), published_at=ago(hours=2))
    make_article("Harvest report", body=_para("Farmers worry."), published_at=ago(hours=3))

    assert _slugs(client, "die") == ["plants-die-in-drought"]
    assert _slugs(client, "die OR hafen", limit=5) == [
        "hafenarbeiter-streiken",
        "plants-die-in-drought",
    ] or sorted(_slugs(client, "die OR hafen", limit=6)) == [
        "hafenarbeiter-streiken",
        "plants-die-in-drought",
    ]


def test_phrase_query_needs_the_words_in_order(client, newsroom):
    assert _slugs(client, '"port authority"') == ["city-council-approves-new-budget"]
    assert set(_slugs(client, "port authority")) == {
        "city-council-approves-new-budget",
        "regatta-week-returns-to-the-harbour",
    }


def test_prefix_query(client, newsroom):
    assert _slugs(client, "Westerh*") == ["dockworkers-strike-at-westerhaven-terminal"]
    assert _slugs(client, "Westerh") == []


def test_or_and_exclusion(client, newsroom):
    assert set(_slugs(client, "regatta OR budget")) == {
        "regatta-week-returns-to-the-harbour",
        "city-council-approves-new-budget",
    }
    assert _slugs(client, "strike -budget") == ["dockworkers-strike-at-westerhaven-terminal"]


def test_when_no_article_has_every_word_any_of_them_will_do(client, newsroom, users, ago):
    make_article("Dock strike draft", status="draft", body=_para("Cranes, regatta, budget."))
    # every word somewhere, never all in one article: the best matches of any word, marked
    response = _search(client, "how long will the regatta cranes budget strike", count="true")
    payload = response.get_json()
    assert payload["meta"]["matched"] == "any"
    assert payload["meta"]["total"] == 3
    assert {hit["slug"] for hit in payload["data"]} == {
        "dockworkers-strike-at-westerhaven-terminal",
        "city-council-approves-new-budget",
        "regatta-week-returns-to-the-harbour",
    }
    assert all("<mark>" in hit["snippet"] for hit in payload["data"])
    assert not any(hit["all_words"] for hit in payload["data"])
    # exclusions still hold
    assert _slugs(client, "regatta cranes -strike") == ["regatta-week-returns-to-the-harbour"]
    # a query of one word that matches nothing has nothing to fall back to
    assert _search(client, "hovercraft").get_json() == {
        "data": [],
        "meta": {"limit": 20, "next_cursor": None, "matched": "all"},
    }


def test_articles_with_every_word_come_first_then_those_with_some(client, newsroom):
    make_article("Dock strike draft", status="draft", body=_para("The strike at the docks."))
    payload = _search(client, "strike docks", count="true").get_json()
    # the budget story has both words, the dockworkers' story only "strike"; the draft never
    assert [(hit["slug"], hit["all_words"]) for hit in payload["data"]] == [
        ("city-council-approves-new-budget", True),
        ("dockworkers-strike-at-westerhaven-terminal", False),
    ]
    assert payload["meta"]["matched"] == "some"
    assert payload["meta"]["total"] == 2
    assert "<mark>docks</mark>" in payload["data"][0]["snippet"]
    # a query of one word has no such second part
    assert _search(client, "strike").get_json()["meta"]["matched"] == "all"
    # newest first is by time alone: the articles with every word, as long as there is one
    newest = _search(client, "strike docks", count="true", sort="newest").get_json()
    assert [hit["slug"] for hit in newest["data"]] == ["city-council-approves-new-budget"]
    assert (newest["meta"]["matched"], newest["meta"]["total"]) == ("all", 1)


def test_pages_run_from_every_word_to_some_of_them(client, newsroom, ago):
    make_article(
        "Port fees rise", body=_para("The port raised its fees."), published_at=ago(hours=1)
    )
    pages, params = [], {"limit": 1, "count": "true"}
    for _ in range(6):
        payload = _search(client, "port authority", **params).get_json()
        pages.append(
            (
                [(hit["slug"], hit["all_words"]) for hit in payload["data"]],
                payload["meta"]["matched"],
                payload["meta"]["total"],
            )
        )
        if not payload["meta"]["next_cursor"]:
            break
        params["cursor"] = payload["meta"]["next_cursor"]
    # two articles with both words, then the one with "port"
    assert {page[0][0] for page in pages[:2]} == {
        ("city-council-approves-new-budget", True),
        ("regatta-week-returns-to-the-harbour", True),
    }
    assert pages[2:] == [([("port-fees-rise", False)], "any", 3)]
    assert [page[1:] for page in pages[:2]] == [("all", 3), ("all", 3)]
    # a page as long as what is left of both parts ends the list
    payload = _search(client, "port authority", limit=3).get_json()
    assert [hit["all_words"] for hit in payload["data"]] == [True, True, False]
    assert payload["meta"]["next_cursor"] is None


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_the_pages_of_any_word_follow_without_duplicates(client, newsroom, sort):
    seen, params = [], {"limit": 1, "sort": sort}
    for _ in range(5):
        payload = _search(client, "regatta cranes budget", **params).get_json()
        assert payload["meta"]["matched"] == "any"
        seen += [hit["slug"] for hit in payload["data"]]
        if not payload["meta"]["next_cursor"]:
            break
        params["cursor"] = payload["meta"]["next_cursor"]
    assert len(seen) == len(set(seen)) == 3
    if sort == "newest":
        assert seen == [
            "regatta-week-returns-to-the-harbour",
            "city-council-approves-new-budget",
            "dockworkers-strike-at-westerhaven-terminal",
        ]


def test_snippet_marks_hits_and_escapes_the_text(client, users, ago):
    make_article(
        "Shipyard results",
        body=_para(
            "The shipyard builds ferries; its R&amp;D spending "
            "&lt;script&gt;alert(1)&lt;/script&gt; rose."
        ),
        published_at=ago(hours=1),
    )

    snippet = _search(client, "ferries").get_json()["data"][0]["snippet"]

    assert "<mark>ferries</mark>" in snippet
    assert "R&amp;D" in snippet
    assert "<script" not in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


# --- filters, paging, visibility ---------------------------------------------------------------


def test_list_filters_apply(client, newsroom, ago):
    make_article(
        "Strike hits the stadium",
        section="sport",
        tags=["secret-merger"],
        body=_para("Stewards joined the strike."),
        published_at=ago(hours=2),
    )

    assert _slugs(client, "strike", section="sport") == ["strike-hits-the-stadium"]
    assert _slugs(client, "strike", tag="secret-merger") == ["strike-hits-the-stadium"]
    assert _slugs(client, "strike", section="nope") == []
    assert _slugs(client, "strike", language="de") == []
    before = rfc3339(ago(hours=4, minutes=30))
    assert _slugs(client, "strike", published_before=before) == [
        "dockworkers-strike-at-westerhaven-terminal"
    ]
    assert _search(client, "strike", count="true").get_json()["meta"]["total"] == 3


def test_pages_follow_without_duplicates_or_gaps(client, users, ago):
    # Equal texts give equal scores: the order falls back to (published_at, id).
    for i in range(7):
        make_article(
            f"Ferry timetable {i}",
            body=_para("The ferry leaves at noon."),
            published_at=ago(hours=i % 3),
        )
    make_article("Ferry ferry ferry", body=_para("Ferry news."), published_at=ago(hours=9))

    seen = []
    params = {"limit": 3}
    pages = 0
    while True:
        response = _search(client, "ferry", **params)
        payload = response.get_json()
        seen += [hit["slug"] for hit in payload["data"]]
        pages += 1
        cursor = payload["meta"]["next_cursor"]
        if not cursor:
            assert "Link" not in response.headers
            break
        assert 'rel="next"' in response.headers["Link"]
        params = {"limit": 3, "cursor": cursor}

    assert pages == 3
    assert len(seen) == len(set(seen)) == 8
    assert seen[0] == "ferry-ferry-ferry"


def test_unpublished_articles_never_appear(client, users, clock, ago):
    make_article("Ferry strike published", body=_para("Ferry."), published_at=ago(hours=1))
    make_article("Ferry strike draft", status="draft", body=_para("Ferry."))
    make_article("Ferry strike in review", status="in_review", body=_para("Ferry."))
    make_article(
        "Ferry strike archived", status="archived", body=_para("Ferry."), published_at=ago(hours=2)
    )
    make_article(
        "Ferry strike scheduled",
        status="scheduled",
        body=_para("Ferry."),
        published_at=clock.now + timedelta(hours=1),
    )

    assert _slugs(client, "ferry strike") == ["ferry-strike-published"]
    assert _search(client, "ferry", count="true").get_json()["meta"]["total"] == 1

    # The scheduled one goes live on time, without re-indexing. (Another URL than above: the
    # shared response cache measures its lifetimes in real time, not by the test clock.)
    clock.advance(hours=2)
    assert set(_slugs(client, "ferry strike", limit=10)) == {
        "ferry-strike-published",
        "ferry-strike-scheduled",
    }


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        '"unbalanced quote',
        'two "unbalanced "quotes',
        "the of and",
        "'; DROP TABLE articles; --",
        "strike' OR '1'='1",
        "NEAR(strike dock, 2) AND title:strike OR ^dock",
        "strike* *dock (port) {x} [y] : ^ + ~ \\ / &| ! <-> :*",
        "-",
        "OR OR OR",
        "strike OR",
        "a*",
        "\x00strike\u200b",
        "Ünïcödé 港口 罢工 🚢",
        "x" * 10_000,
        "strike " * 100,
        "*",
        " ",
        "-strike",
        '""',
    ],
)
def test_bad_queries_answer_200_or_a_clear_400(client, newsroom, q):
    response = client.get("/api/v1/search", query_string={"q": q})

    assert response.status_code in (200, 400), response.get_json()
    if response.status_code == 400:
        problem = response.get_json()
        assert response.mimetype == "application/problem+json"
        assert problem["errors"]["q"]


def test_very_common_words_are_ignored_unless_quoted(client, newsroom):
    assert _slugs(client, "the strike at the docks") == _slugs(client, "strike docks")

    response = client.get("/api/v1/search", query_string={"q": "the of and"})

    assert response.status_code == 400
    assert "too common" in response.get_json()["errors"]["q"][0]


def test_missing_or_empty_q_is_400(client, newsroom):
    for query in ({}, {"q": ""}, {"q": "   "}):
        response = client.get("/api/v1/search", query_string=query)
        assert response.status_code == 400
        assert "q" in response.get_json()["errors"]


def test_unknown_parameter_and_bad_cursor_are_400(client, newsroom):
    assert client.get("/api/v1/search?q=strike&sort=new").status_code == 400
    assert client.get("/api/v1/search?q=strike&cursor=abc").status_code == 400
    assert client.get("/api/v1/search?q=strike&limit=101").status_code == 400
    cursor = search.encode_cursor(["NaN", "2026-01-01T00:00:00+00:00", 1])
    assert client.get(f"/api/v1/search?q=strike&cursor={cursor}").status_code == 400


def test_user_input_never_reaches_the_engine_as_syntax():
    parsed = parse_query('strike" OR title:x NEAR(a b) -"port auth*" dock* x*')

    # Every word is quoted: FTS5 column filters, NEAR and stray quotes are plain words.
    assert search._SQLite.match(parsed) == (
        '(("strike" OR "title x") AND "near a" AND "b" AND "dock"* AND "x") NOT "port auth"'
    )


# --- keeping the index current -----------------------------------------------------------------


def _index_rows() -> int:
    return db.session.scalar(sa.text(f"SELECT count(*) FROM {search_index.INDEX_TABLE}"))


def test_edits_tags_and_deletes_update_the_index(client, users, ago):
    article = make_article(
        "Ferry timetable changes",
        body=_para("The ferry leaves at noon."),
        published_at=ago(hours=1),
    )
    admin = users["admin"]

    article_service.update_article(
        article,
        {"title": "Hovercraft timetable changes", "tags": ["port"]},
        actor=admin,
        expected_version=article.version,
    )
    db.session.commit()
    assert _slugs(client, "hovercraft") == ["ferry-timetable-changes"]
    assert _slugs(client, "timetable port") == ["ferry-timetable-changes"]

    tag = db.session.scalar(sa.select(Tag).where(Tag.slug == "port"))
    taxonomy.update("tags", tag, {"name": "Harbour"}, actor=admin)
    db.session.commit()
    assert _slugs(client, "timetable harbour") == ["ferry-timetable-changes"]
    assert _slugs(client, "port") == []

    taxonomy.delete("tags", tag, actor=admin)
    db.session.commit()
    assert _slugs(client, "harbour") == []

    article_service.delete_article(db.session.get(Article, article.id), actor=admin)
    db.session.commit()
    assert _slugs(client, "hovercraft") == []
    assert _index_rows() == 0


def test_deleting_rows_directly_also_empties_the_index(users, ago):
    make_article("Ferry", body=_para("Ferry."), published_at=ago(hours=1))
    assert _index_rows() == 1

    db.session.execute(sa.delete(Article))
    db.session.commit()

    assert _index_rows() == 0


def test_editor_api_writes_are_indexed(client, headers, users):
    response = client.post(
        "/api/v1/editor/articles",
        json={"title": "Lighthouse keeper retires", "body": _para("After forty years.")},
        headers=headers["editor"],
    )
    assert response.status_code == 201, response.get_json()
    article_id = response.get_json()["id"]
    response = client.post(
        f"/api/v1/editor/articles/{article_id}/publish",
        json={},
        headers={**headers["editor"], "If-Match": response.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_json()

    assert _slugs(client, "lighthouse") == ["lighthouse-keeper-retires"]


def test_a_snippet_follows_the_body_through_edits_and_rebuilds(app, client, headers):
    """A snippet is cut from the start of the body as it was last saved, its whitespace made
    single spaces (PostgreSQL: the index's excerpt of the body)."""
    editor = headers["editor"]
    body = [*_para("Gales  closed\tthe\nharbour at dawn."), *_para("Crews waited.")]
    made = client.post(
        "/api/v1/editor/articles",
        json={"title": "Storm report", "section": "news", "body": body},
        headers=editor,
    )
    assert made.status_code == 201, made.get_json()
    url = f"/api/v1/editor/articles/{made.get_json()['id']}"
    published = client.post(
        f"{url}/publish", json={}, headers={**editor, "If-Match": made.headers["ETag"]}
    )
    assert published.status_code == 200, published.get_json()
    hit = _search(client, "harbour").get_json()["data"][0]
    assert hit["snippet"] == "Gales closed the <mark>harbour</mark> at dawn. Crews waited."

    edited = client.patch(
        url,
        json={"body": _para("The harbour reopened at noon.")},
        headers={**editor, "If-Match": published.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.get_json()
    hit = _search(client, "harbour", limit=5).get_json()["data"][0]
    assert hit["snippet"] == "The <mark>harbour</mark> reopened at noon."

    if _postgres():  # lost excerpts come back with the index
        db.session.execute(sa.text(f"DELETE FROM {search_index.EXCERPT_TABLE}"))
        db.session.commit()
        assert _search(client, "harbour", limit=6).get_json()["data"][0]["snippet"] == ""
    result = app.test_cli_runner().invoke(args=["rebuild", "search"])
    assert result.exit_code == 0, result.output
    hit = _search(client, "harbour", limit=7).get_json()["data"][0]
    assert hit["snippet"] == "The <mark>harbour</mark> reopened at noon."


def test_reindex_command_rebuilds_everything(app, users, ago):
    make_article("Ferry strike", body=_para("Ferry."), published_at=ago(hours=1))
    make_article("Bus strike", body=_para("Bus."), published_at=ago(hours=1))
    db.session.execute(sa.text(f"DELETE FROM {search_index.INDEX_TABLE}"))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["rebuild", "search"])

    assert result.exit_code == 0, result.output
    assert "Indexed 2 articles" in result.output
    assert _index_rows() == 2


def test_sort_newest_lists_every_match_newest_first_across_pages(client, users, ago):
    for i in range(5):
        make_article(f"Ferry story {i}", body=_para("The ferry runs."), published_at=ago(hours=i))
    make_article("Ferry ferry ferry", body=_para("Ferry news."), published_at=ago(hours=9))
    make_article("Ferry draft", status="draft", body=_para("Ferry."))

    assert _slugs(client, "ferry")[0] == "ferry-ferry-ferry"  # relevance
    seen, params = [], {"sort": "newest", "limit": 2}
    while True:
        payload = _search(client, "ferry", **params).get_json()
        seen += [hit["slug"] for hit in payload["data"]]
        assert all(isinstance(hit["score"], float) for hit in payload["data"])
        if not payload["meta"]["next_cursor"]:
            break
        params = {**params, "cursor": payload["meta"]["next_cursor"]}
    assert seen == [f"ferry-story-{i}" for i in range(5)] + ["ferry-ferry-ferry"]


def test_sort_is_validated_and_a_cursor_keeps_its_sort(client, newsroom):
    response = client.get("/api/v1/search?q=strike&sort=oldest")
    assert response.status_code == 400
    assert "sort" in response.get_json()["errors"]
    relevance = search.encode_cursor(["1.5", "2026-01-01T00:00:00+00:00", 1])
    response = client.get(f"/api/v1/search?q=strike&sort=newest&cursor={relevance}")
    assert response.status_code == 400
    assert "cursor" in response.get_json()["errors"]
    newest = search.encode_cursor(["newest", "2026-01-01T00:00:00+00:00", 1])
    assert client.get(f"/api/v1/search?q=strike&cursor={newest}").status_code == 400
    assert client.get(f"/api/v1/search?q=strike&sort=newest&cursor={newest}").status_code == 200


def test_relevance_ranks_the_newest_matches_only(client, users, ago, monkeypatch):
    make_article("Harbour harbour harbour", body=_para("Harbour."), published_at=ago(days=30))
    for i in range(3):
        make_article(f"Council {i}", body=_para("Near the harbour."), published_at=ago(hours=i))
    assert _slugs(client, "harbour")[0] == "harbour-harbour-harbour"

    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    # (another URL than above: the response cache would answer with the first result)
    assert sorted(_slugs(client, "harbour", limit=10)) == [f"council-{i}" for i in range(3)]
    # the older best match is still found by date
    assert "harbour-harbour-harbour" in _slugs(client, "harbour", sort="newest")
    assert _search(client, "harbour", count="true").get_json()["meta"]["total"] == 4


def test_snippet_of_a_long_body_comes_from_its_start(client, users, ago):
    filler = " ".join(["Calm weather at sea."] * 400)
    make_article(
        "Long report",
        body=[*_para("The lighthouse keeper spoke first."), *_para(filler), *_para("Lighthouse.")],
        published_at=ago(hours=1),
    )
    hit = _search(client, "lighthouse").get_json()["data"][0]
    assert "<mark>" in hit["snippet"] and len(hit["snippet"]) < 1000


def _index_listing(article_id: int):
    """What the index holds about when ``article_id`` is listed: PostgreSQL its ``listed_at``
    copy, SQLite the published second encoded in its row's key (None while unlisted)."""
    if _postgres():
        return db.session.scalar(
            sa.text(f"SELECT listed_at FROM {search_index.INDEX_TABLE} WHERE article_id = :id"),
            {"id": article_id},
        )
    key = db.session.scalar(
        sa.text(f"SELECT search_rowid FROM {search_index.KEY_TABLE} WHERE article_id = :id"),
        {"id": article_id},
    )
    rows = db.session.scalar(
        sa.text(f"SELECT count(*) FROM {search_index.INDEX_TABLE} WHERE rowid = :key"), {"key": key}
    )
    assert rows == 1
    return None if key < search_index.LISTED_MIN_KEY else key // search_index.ID_SPAN


def _expected_listing(article: Article):
    listed = article.status in ("published", "scheduled") and article.published_at is not None
    if not listed:
        return None
    if _postgres():
        return article.published_at.replace(tzinfo=None)
    return int(article.published_at.timestamp())


def test_a_publish_copies_the_listing_and_a_missing_row_is_written_whole(client, headers):
    """A publish changes only whether and when the article is listed: on PostgreSQL its index
    row gets the listing and keeps its document; an article without a row gets a whole one."""
    editor = headers["editor"]
    kept = make_article("Harbour crane", status="draft", body=_para("The harbour crane."))
    lost = make_article("Harbour pilot", status="draft", body=_para("The harbour pilot."))
    db.session.commit()
    kept_id, lost_id = kept.id, lost.id
    document = sa.text(
        f"SELECT document::text FROM {search_index.INDEX_TABLE} WHERE article_id = :id"
    )
    before = None
    if _postgres():
        before = db.session.scalar(document, {"id": kept_id})
        db.session.execute(
            sa.text(f"DELETE FROM {search_index.INDEX_TABLE} WHERE article_id = :id"),
            {"id": lost_id},
        )
        db.session.commit()
    for article_id in (kept_id, lost_id):
        etag = client.get(f"/api/v1/editor/articles/{article_id}", headers=editor).headers["ETag"]
        response = client.post(
            f"/api/v1/editor/articles/{article_id}/publish",
            json={},
            headers={**editor, "If-Match": etag},
        )
        assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    for article_id in (kept_id, lost_id):
        assert _index_listing(article_id) == _expected_listing(db.session.get(Article, article_id))
    assert set(_slugs(client, "harbour")) == {"harbour-crane", "harbour-pilot"}
    if _postgres():
        assert db.session.scalar(document, {"id": kept_id}) == before
        rebuilt = db.session.scalar(document, {"id": lost_id})
        search_index.rebuild_index()
        assert db.session.scalar(document, {"id": lost_id}) == rebuilt


def test_every_workflow_step_keeps_the_index_listing_current(client, headers, users, clock):
    """Publish, unpublish, schedule (and its time arriving), re-publish, archive, takedown and
    its revocation, through the editor API: search follows each step at once, and the index's
    copy of the listing matches the article after each."""
    editor, admin = headers["editor"], headers["admin"]
    older = make_article("Lighthouse keeper", status="draft", body=_para("The lighthouse."))
    db.session.commit()
    older_id = older.id

    def act(name, **body):
        etag = client.get(f"/api/v1/editor/articles/{older_id}", headers=editor).headers["ETag"]
        response = client.post(
            f"/api/v1/editor/articles/{older_id}/{name}",
            json=body,
            headers={**editor, "If-Match": etag},
        )
        assert response.status_code == 200, response.get_json()
        db.session.expire_all()
        assert _index_listing(older_id) == _expected_listing(db.session.get(Article, older_id))

    def found(**params) -> bool:
        # a distinct URL each time: the response cache keeps answers in real time
        params["limit"] = 1 + len(seen)
        seen.append(1)
        return "lighthouse-keeper" in _slugs(client, "lighthouse", **params)

    seen: list = []
    assert _index_listing(older_id) is None and not found()
    act("publish")
    assert found()
    act("unpublish")
    assert not found()
    act("publish", publish_at=(clock.now + timedelta(hours=2)).isoformat())
    assert not found() and not found(sort="newest")
    clock.advance(hours=3)
    assert found() and found(sort="newest")
    clock.advance(minutes=1)
    make_article("Lighthouse restored", body=_para("The lighthouse again."), published_at=clock.now)
    db.session.commit()
    restored = db.session.scalar(sa.select(Article).where(Article.slug == "lighthouse-restored"))
    assert restored.published_at > db.session.get(Article, older_id).published_at
    newest = _slugs(client, "lighthouse", sort="newest", limit=5)
    assert newest == ["lighthouse-restored", "lighthouse-keeper"]
    act("unpublish")
    clock.advance(minutes=1)
    act("publish")  # published again, now: newer than the other one
    assert _slugs(client, "lighthouse", sort="newest", limit=6) == [
        "lighthouse-keeper",
        "lighthouse-restored",
    ]
    response = client.post(
        f"/api/v1/editor/articles/{older_id}/takedown",
        json={"reason": "legal", "note": "Court order"},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    assert _index_listing(older_id) is None
    assert not found()
    revoke = client.post(f"/api/v1/editor/articles/{older_id}/takedown/revoke", headers=admin)
    assert revoke.status_code in (200, 201), revoke.get_json()
    db.session.expire_all()
    assert _index_listing(older_id) == _expected_listing(db.session.get(Article, older_id))
    act("archive")
    assert not found()


def test_tag_filter_pages_newest_first_and_hides_unlisted(client, users, clock, ago):
    for i in range(4):
        make_article(
            f"Ferry note {i}", tags=["port"], body=_para("Ferry."), published_at=ago(hours=i)
        )
    make_article("Ferry untagged", tags=["energy"], body=_para("Ferry."), published_at=ago(hours=1))
    make_article("Ferry draft", status="draft", tags=["port"], body=_para("Ferry."))
    make_article(
        "Ferry soon",
        status="scheduled",
        tags=["port"],
        body=_para("Ferry."),
        published_at=clock.now + timedelta(hours=1),
    )

    assert sorted(_slugs(client, "ferry", tag="port", limit=10)) == [
        f"ferry-note-{i}" for i in range(4)
    ]
    seen, params = [], {"sort": "newest", "limit": 3, "tag": "port"}
    while True:
        payload = _search(client, "ferry", **params).get_json()
        seen += [hit["slug"] for hit in payload["data"]]
        if not payload["meta"]["next_cursor"]:
            break
        params = {**params, "cursor": payload["meta"]["next_cursor"]}
    assert seen == [f"ferry-note-{i}" for i in range(4)]
    assert _slugs(client, "ferry", tag="port", source="handelsblatt", limit=9)[0] == (
        "ferry-note-0"
    )
    clock.advance(hours=2)
    assert _slugs(client, "ferry", tag="port", sort="newest", limit=8)[0] == "ferry-soon"


@pytest.mark.parametrize(
    "tuning",
    [
        {},  # everything in the sample
        {"SAMPLE_ROWS": 2},  # common: the walk goes on past the sample
        {"SAMPLE_ROWS": 2, "WALK_SHARE": 1.1},  # a range of the newest rows through the indexes
        {"SAMPLE_ROWS": 2, "WALK_SHARE": 1.1, "LAST_SLICE": 1},  # every match
        {"SAMPLE_ROWS": 1},  # none in the sample: every match
    ],
)
def test_the_window_is_the_newest_visible_matches_however_they_are_found(
    client, users, clock, ago, monkeypatch, tuning
):
    """However the newest matches are looked for (PostgreSQL measures the share of matches
    among the newest listed articles first, see ``_PostgreSQL.newest_ids``), relevance ranks
    exactly the RANK_WINDOW newest visible ones, and its pages hold each of them once."""
    for i in range(12):
        make_article(f"Bus timetable {i}", body=_para("The bus leaves."), published_at=ago(hours=i))
        if i % 3 != 1:
            make_article(
                f"Ferry note {i}",
                body=_para("The ferry leaves."),
                published_at=ago(hours=i, minutes=30),
            )
    make_article("Ferry draft", status="draft", body=_para("Ferry."))
    make_article(
        "Ferry soon",
        status="scheduled",
        body=_para("Ferry."),
        published_at=clock.now + timedelta(hours=1),
    )
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    for name, value in tuning.items():
        monkeypatch.setattr(search, name, value)
    newest = ["ferry-note-0", "ferry-note-2", "ferry-note-3"]

    limit = 4 + len(tuning)  # (another URL per case: the response cache)
    assert sorted(_slugs(client, "ferry", limit=limit)) == newest
    first = _search(client, "ferry", limit=2).get_json()
    second = _slugs(client, "ferry", limit=2, cursor=first["meta"]["next_cursor"])
    assert sorted([hit["slug"] for hit in first["data"]] + second) == newest
    assert _slugs(client, "timetable bus", limit=limit)[0].startswith("bus-timetable-")
    assert _slugs(client, "zeppelin", limit=limit) == []


def test_a_hit_is_the_articles_card_with_score_snippet_and_all_words(client, newsroom):
    listed = {item["slug"]: item for item in client.get("/api/v1/articles").get_json()["data"]}

    for hit in _search(client, "strike").get_json()["data"]:
        assert {
            k: v for k, v in hit.items() if k not in ("score", "snippet", "all_words")
        } == listed[hit["slug"]]


def test_postgresql_keeps_search_documents_inline(client, users, ago):
    """Walks and ranking read hundreds of documents per search: they stay in the table's own
    pages (migration b5c1d3e7f9a2), also after ``rebuild search``."""
    if not _postgres():
        pytest.skip("PostgreSQL storage settings")
    make_article("Ferry", body=_para("Ferry. " * 400), published_at=ago(hours=1))
    search_index.rebuild_index()
    db.session.commit()

    storage = db.session.scalar(
        sa.text(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'article_search'::regclass "
            "AND attname = 'document'"
        )
    )
    options = db.session.scalar(
        sa.text("SELECT reloptions FROM pg_class WHERE oid = 'article_search'::regclass")
    )
    assert storage == "m" and "toast_tuple_target=8160" in options
    assert _slugs(client, "ferry") == ["ferry"]
