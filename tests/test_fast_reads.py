"""The hot public reads answered before Flask (``cms.api.public.fast``) answer exactly as the
Flask path does: status, body and every header, for the requests it takes and for those it
hands to Flask."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa
from werkzeug.test import Client

from cms import create_app
from cms.extensions import db, limiter
from cms.models import Correction, RelatedLink, StoredCard, Summary, Tag
from tests.conftest import make_article, recorded_statements

ALLOWED = "https://allowed.example"


def _config(app, **overrides) -> dict:
    config = {
        name: app.config[name]
        for name in (
            "CMS_ENV",
            "CMS_PASSWORD_HASH_PROFILE",
            "SECRET_KEY",
            "JWT_SECRET_KEY",
            "SQLALCHEMY_DATABASE_URI",
        )
    }
    config.update(
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        CMS_RESPONSE_CACHE_SECONDS=0,
        CMS_CORS_ORIGINS=[ALLOWED],
        RATELIMIT_STORAGE_URI="memory://",
    )
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def uncached(app):
    """An app of its own on the test database, response cache off (where the path is taken)."""
    made = create_app(_config(app))
    yield made
    with made.app_context():
        db.session.remove()
        db.engine.dispose()


class _Counted:
    """Flask's ``wsgi_app``, counting the requests that reach it."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.calls = wsgi_app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def paths(uncached, monkeypatch):
    """(through the fast path, straight to Flask, Flask's counter)."""
    fast = uncached.wsgi_app.wsgi_app  # CachedResponses (off) -> FastReads -> Flask
    flask = _Counted(fast.wsgi_app)
    monkeypatch.setattr(fast, "wsgi_app", flask)
    return Client(uncached.wsgi_app), Client(flask.wsgi_app), flask


@pytest.fixture
def site(users, clock):
    older = make_article("Older story on the harbour", published_at=clock.now - timedelta(hours=3))
    target = make_article(
        "Story on the harbour", published_at=clock.now - timedelta(hours=2), tags=["port"]
    )
    make_article("Newer story on the harbour", published_at=clock.now - timedelta(hours=1))
    draft = make_article("Draft on the harbour", status="draft")
    scheduled = make_article(
        "Later on the harbour", status="scheduled", published_at=clock.now + timedelta(hours=1)
    )
    db.session.commit()
    return older, target, draft, scheduled


def _answer(client, path, **kwargs):
    response = client.open(path, **kwargs)
    return response.status, response.headers.to_wsgi_list(), response.get_data()


def _same(paths, path, **kwargs):
    fast, flask, counter = paths
    calls = counter.calls
    answer = _answer(fast, path, **kwargs)
    taken = counter.calls == calls
    assert answer == _answer(flask, path, **kwargs)
    return answer, taken


PLAIN = [
    {},
    {"method": "HEAD"},
    {"headers": {"Origin": ALLOWED}},
    {"headers": {"Origin": "https://elsewhere.example"}},
    # flask-cors's other input on a request that is not a preflight (its headers are kept
    # per method and these two)
    {"headers": {"Origin": ALLOWED, "Access-Control-Request-Private-Network": "true"}},
    {"headers": {"Access-Control-Request-Private-Network": "true"}},
    {"base_url": "https://localhost"},
    {"headers": {"Accept": "application/json", "User-Agent": "test"}},
]


# The plain reads the path answers ({slug}: a published article's).
READS = [
    "/api/v1/articles",
    "/api/v1/articles/{slug}",
    "/api/v1/articles/{slug}/related",
    "/api/v1/articles/{slug}/summary",
    "/api/v1/sections",
    "/api/v1/tags",
    "/api/v1/authors",
    "/api/v1/sources",
]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("kwargs", PLAIN, ids=lambda kwargs: str(kwargs) or "plain")
def test_plain_reads_take_the_fast_path_with_flasks_answer(paths, site, read, kwargs):
    path = read.format(slug=site[1].slug)
    kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "X-Request-ID": "req-1"}}
    (status, headers, body), taken = _same(paths, path, **kwargs)
    assert taken
    assert status == "200 OK"
    assert ("Strict-Transport-Security" in dict(headers)) == ("base_url" in kwargs)
    assert (body == b"") == (kwargs.get("method") == "HEAD")


SEARCHES = [
    "q=harbour",
    "q=harbour&sort=newest",
    "q=harbour&count=true&limit=1",
    "q=harbour&tag=port",
    "q=harbour&section=news&language=en",
    "q=%22the+harbour%22+OR+story",
    "q=harbour+-older",
    "q=draft",  # the draft is never a hit
    "q=nothingmatchesthis",
]


@pytest.mark.parametrize("query", SEARCHES)
@pytest.mark.parametrize("kwargs", PLAIN[:3], ids=lambda kwargs: str(kwargs) or "plain")
def test_searches_take_the_fast_path_with_flasks_answer(paths, site, query, kwargs):
    kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "X-Request-ID": "req-9"}}
    (status, headers, body), taken = _same(paths, f"/api/v1/search?{query}", **kwargs)
    assert taken and status == "200 OK"
    if kwargs.get("method") != "HEAD":
        hits = orjson.loads(body)["data"]
        assert site[2].id not in [hit["id"] for hit in hits]
        assert bool(hits) == ("nothing" not in query and "draft" not in query)


def test_the_next_page_of_a_search_on_the_fast_path(paths, site):
    fast, _flask, counter = paths
    first = fast.get("/api/v1/search?q=harbour&limit=1", headers={"X-Request-ID": "req-8"})
    link = first.headers["Link"]
    assert link.startswith("</api/v1/search?q=harbour&limit=1&cursor=") and counter.calls == 0
    url = link[1 : link.index(">")]
    (status, _headers, body), taken = _same(paths, url, headers={"X-Request-ID": "req-8"})
    assert taken and status == "200 OK"
    assert orjson.loads(body)["data"][0]["id"] != first.get_json()["data"][0]["id"]


def test_a_query_string_sent_again_answers_from_the_content_of_the_moment(paths, site, clock):
    """The arguments of a query string are parsed once and kept; what they find is not: the
    same URL sent again after a publish finds the new article, a bad one is the same 400."""
    fast, _flask, _counter = paths
    url = "/api/v1/search?q=harbour&limit=1&sort=newest"
    first = fast.get(url).get_json()
    following = fast.get(f"{url}&cursor={first['meta']['next_cursor']}").get_json()
    assert fast.get(url).get_json() == first
    newest = make_article("Harbour reopens", published_at=clock.now - timedelta(minutes=1))
    assert fast.get(url).get_json()["data"][0]["id"] == newest.id
    again = fast.get(f"{url}&cursor={first['meta']['next_cursor']}").get_json()
    assert [hit["id"] for hit in again["data"]] == [hit["id"] for hit in following["data"]]
    for _ in range(2):
        bad = fast.get("/api/v1/search?q=harbour&limit=0")
        assert bad.status_code == 400 and "limit" in bad.get_json()["errors"]


def test_plain_reads_run_their_statements_compiled_on_a_pooled_connection(uncached, paths, site):
    """No statement of a plain read goes through SQLAlchemy's execution (its events see none),
    and the borrowed connection is back in the pool, out of autocommit, afterwards (with the
    isolation level it had)."""
    fast, _flask, counter = paths
    target = site[1]
    with uncached.app_context():
        engine = db.engine
    pooled = engine.raw_connection()
    isolation_level = pooled.driver_connection.isolation_level
    pooled.close()
    issued = []

    def record(_conn, _cursor, statement, *_args):
        issued.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        for read in READS:
            assert fast.get(read.format(slug=target.slug)).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert counter.calls == 0
    assert issued == []
    assert engine.pool.checkedout() == 0
    pooled = engine.raw_connection()  # the one the reads used: nothing else ran meanwhile
    try:
        driver = pooled.driver_connection
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is False
            assert driver.isolation_level == isolation_level
        else:
            assert driver.isolation_level is not None
    finally:
        pooled.close()


def test_what_the_compiled_statements_leave_to_the_session_answers_the_same(paths, site):
    """A card not stored (built from the article's rows), corrections and curated links are
    read on the session inside a plain read: the answers stay Flask's."""
    older, target, _draft, _scheduled = site
    db.session.execute(sa.delete(StoredCard))
    db.session.add(Correction(article_id=target.id, kind="update", text="A date was wrong."))
    db.session.add(RelatedLink(article_id=target.id, target_id=older.id, position=0))
    db.session.add(
        RelatedLink(article_id=target.id, url="https://example.org/", position=1, title="Elsewhere")
    )
    db.session.commit()
    for path in ("", f"/{target.slug}", f"/{target.slug}/related"):
        (status, _headers, body), taken = _same(
            paths, "/api/v1/articles" + path, headers={"X-Request-ID": "req-7"}
        )
        assert taken and status == "200 OK"
    detail = paths[0].get(f"/api/v1/articles/{target.slug}").get_json()
    assert [c["text"] for c in detail["corrections"]] == ["A date was wrong."]
    related = paths[0].get(f"/api/v1/articles/{target.slug}/related").get_json()
    assert [item["kind"] for item in related["related"][:2]] == ["curated", "curated"]


def test_an_article_without_a_summary_is_flasks_404(paths, site):
    target = site[1]
    db.session.execute(sa.delete(Summary).where(Summary.article_id == target.id))
    db.session.commit()
    (status, _headers, body), taken = _same(
        paths, f"/api/v1/articles/{target.slug}/summary", headers={"X-Request-ID": "req-8"}
    )
    assert not taken
    assert status.startswith("404") and b"no summary" in body


def test_a_long_taxonomy_list_pages_on_the_fast_path_with_flasks_link(paths, site):
    """More entries than a page holds: the first page, its cursor and ``Link`` are Flask's, and
    the counts are those of visible articles only (the draft's and the scheduled article's
    tags count nothing)."""
    db.session.add_all(Tag(slug=f"zz-{n:02}", name=f"Topic {n}") for n in range(25))
    db.session.commit()
    (status, headers, body), taken = _same(paths, "/api/v1/tags", headers={"X-Request-ID": "r9"})
    assert taken and status == "200 OK"
    page = orjson.loads(body)
    assert len(page["data"]) == 20 and page["meta"]["next_cursor"]
    assert dict(headers)["Link"].startswith("</api/v1/tags?cursor=")
    counts = {tag["slug"]: tag["article_count"] for tag in page["data"]}
    assert counts["energy"] == 2 and counts["port"] == 1  # not the draft, nor the scheduled


def test_a_malformed_request_id_is_replaced_on_the_fast_path(paths, site):
    fast, _flask, counter = paths
    response = fast.get("/api/v1/articles", headers={"X-Request-ID": "not valid!"})
    assert counter.calls == 0
    assert len(response.headers["X-Request-ID"]) == 32


def _others(site):
    older, target, draft, scheduled = site
    return [
        ("/api/v1/articles?limit=2", {}),
        ("/api/v1/articles?limit=0", {}),  # the 400 problem
        ("/api/v1/articles?bogus=1", {}),
        ("/api/v1/articles/", {}),
        ("/api/v1/articles", {"method": "POST", "json": {}}),
        ("/api/v1/articles", {"headers": {"Authorization": "Bearer nonsense"}}),
        (f"/api/v1/articles/{target.slug}", {"headers": {"If-Modified-Since": "x"}}),
        ("/api/v1/articles?limit=2", {"headers": {"If-None-Match": '"x"'}}),
        (f"/api/v1/articles/{target.slug}/related?limit=1", {}),
        (f"/api/v1/articles/{draft.slug}/summary", {}),  # 404
        (f"/api/v1/articles/{scheduled.slug}/summary", {}),
        ("/api/v1/articles/no-such-article/summary", {}),
        (f"/api/v1/articles/{target.slug}/summary?x=1", {}),
        ("/api/v1/tags?limit=1", {}),
        ("/api/v1/tags/port", {}),  # one entry: Flask's
        ("/api/v1/sections/news", {}),
        ("/api/v1/tags", {"headers": {"If-Match": '"x"'}}),
        ("/api/v1/tags", {"method": "POST", "json": {}}),
        (f"/api/v1/articles/{draft.slug}", {}),  # 404: never public
        (f"/api/v1/articles/{scheduled.slug}/related", {}),
        ("/api/v1/articles/no-such-article", {}),
        ("/api/v1/articles/no-such-article/related", {}),
        ("/api/v1/articles/a%00b", {}),
        ("/api/v1/articles", {"headers": {"Connection": "Upgrade", "Upgrade": "websocket"}}),
        ("/api/v1/search", {}),  # the 400s of the search's parser and service
        ("/api/v1/search?q=", {}),
        ("/api/v1/search?q=harbour&limit=0", {}),
        ("/api/v1/search?q=harbour&bogus=1", {}),
        ("/api/v1/search?q=harbour&cursor=nonsense", {}),
        ("/api/v1/search?q=harbour&sort=oldest", {}),
        ("/api/v1/search?q=harbour", {"headers": {"If-Modified-Since": "x"}}),
        ("/api/v1/search?q=harbour", {"headers": {"Authorization": "Bearer nonsense"}}),
        ("/api/v1/search?q=harbour", {"method": "POST"}),
    ]


def test_everything_else_is_flasks_and_answered_as_before(paths, site):
    for path, kwargs in _others(site):
        kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "X-Request-ID": "req-2"}}
        (status, _headers, _body), taken = _same(paths, path, **kwargs)
        assert not taken, (path, kwargs, status)
    draft = paths[0].get(f"/api/v1/articles/{site[2].slug}")
    assert draft.status_code == 404 and b"Draft" not in draft.get_data()


@pytest.mark.parametrize("read", [*READS, "/api/v1/search?q=harbour"])
@pytest.mark.parametrize("kwargs", [{}, {"method": "HEAD"}, {"headers": {"Origin": ALLOWED}}])
def test_if_none_match_gets_flasks_304_or_200_on_the_fast_path(paths, site, read, kwargs):
    """The tag the page has now (``*``, a list of tags, a weak one) answers Flask's 304, any
    other Flask's 200; the list decides from its page's keys without rendering it."""
    path = read.format(slug=site[1].slug)
    etag = paths[0].get(path).headers["ETag"]
    for sent, expected in (
        (etag, "304 NOT MODIFIED"),
        (f'"other", W/{etag}', "304 NOT MODIFIED"),
        ("*", "304 NOT MODIFIED"),
        ('"other"', "200 OK"),
    ):
        headers = {**kwargs.get("headers", {}), "If-None-Match": sent, "X-Request-ID": "req-3"}
        (status, _headers, body), taken = _same(paths, path, **{**kwargs, "headers": headers})
        assert taken
        assert status == expected
        assert (body == b"") == (expected != "200 OK" or kwargs.get("method") == "HEAD")


@pytest.mark.parametrize("read", READS)
def test_other_conditional_requests_are_flasks(paths, site, read):
    path = read.format(slug=site[1].slug)
    first = paths[0].get(path)
    for headers in (
        {"If-Modified-Since": first.headers.get("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT")},
        {"If-None-Match": first.headers["ETag"], "If-Modified-Since": "x"},
        {"If-Match": first.headers["ETag"]},
    ):
        (status, _headers, _body), taken = _same(
            paths, path, headers={**headers, "X-Request-ID": "req-3"}
        )
        assert not taken
        assert status in ("304 NOT MODIFIED", "200 OK", "412 PRECONDITION FAILED")


def test_the_list_decides_its_304_from_the_keys_alone(paths, site, monkeypatch):
    """A conditional list request whose tag matches reads the page's keys; the page itself
    (its cards, rendered) is made only for a 200."""
    from cms.api.public import articles

    fast, _flask, counter = paths
    etag = fast.get("/api/v1/articles").headers["ETag"]
    pages = []
    list_page = articles.list_page
    monkeypatch.setattr(
        articles, "list_page", lambda *args, **kwargs: pages.append(1) or list_page(*args, **kwargs)
    )
    assert fast.get("/api/v1/articles", headers={"If-None-Match": etag}).status_code == 304
    assert pages == [] and counter.calls == 0
    assert fast.get("/api/v1/articles", headers={"If-None-Match": '"x"'}).status_code == 200
    assert pages == [1] and counter.calls == 0


def test_a_moved_article_is_flasks_301(paths, site, client, headers):
    target = site[1]
    old_slug = target.slug
    response = client.patch(
        f"/api/v1/editor/articles/{target.id}",
        json={"slug": "harbour-story-renamed"},
        headers={
            **headers["editor"],
            "If-Match": client.get(
                f"/api/v1/editor/articles/{target.id}", headers=headers["editor"]
            ).headers["ETag"],
        },
    )
    assert response.status_code == 200, response.get_json()
    for suffix in ("", "/related", "/summary"):
        (status, headers_sent, _body), taken = _same(
            paths, f"/api/v1/articles/{old_slug}{suffix}", headers={"X-Request-ID": "req-4"}
        )
        assert not taken
        assert status.startswith("301")
        assert dict(headers_sent)["Location"] == f"/api/v1/articles/harbour-story-renamed{suffix}"


def test_the_public_rate_limit_and_its_429(uncached, paths, site, monkeypatch):
    monkeypatch.setitem(uncached.config, "CMS_PUBLIC_RATE_LIMIT", "2 per minute")
    fast, flask, counter = paths
    answers = {}
    for name, client in (("fast", fast), ("flask", flask)):
        limiter.reset()
        answers[name] = [
            client.get("/api/v1/articles", headers={"X-Request-ID": "req-5"}) for _ in range(3)
        ]
    assert counter.calls == 1  # the third fast one, refused: Flask answered its 429
    for fast_answer, flask_answer in zip(answers["fast"], answers["flask"], strict=True):
        assert fast_answer.status == flask_answer.status
        assert fast_answer.get_data() == flask_answer.get_data()
        timed = ("X-RateLimit-Reset", "Retry-After")
        names = [key for key, _ in fast_answer.headers]
        assert names == [key for key, _ in flask_answer.headers]
        for key in names:
            if key in timed:
                assert abs(int(fast_answer.headers[key]) - int(flask_answer.headers[key])) <= 2
            else:
                assert fast_answer.headers.getlist(key) == flask_answer.headers.getlist(key)
    assert [a.status_code for a in answers["fast"]] == [200, 200, 429]
    assert answers["fast"][0].headers["X-RateLimit-Remaining"] == "1"


def test_not_taken_while_the_response_cache_is_on(app, site):
    """The session app keeps the response cache on: Flask answers the miss and stores it."""
    client = app.test_client()
    path = f"/api/v1/articles/{site[1].slug}"
    first = client.get(path)
    with recorded_statements() as issued:
        again = client.get(path)
    assert again.get_data() == first.get_data()
    assert issued == []  # answered from the entry the Flask path stored


def test_reads_keep_answering_when_the_pool_replaces_its_connections(uncached, paths, site):
    """The cursor a pooled connection keeps for the plain reads goes with the connection: after
    the pool is emptied (``dispose``, as after a fork) or a connection is invalidated, the
    reads run on the new connections and answer as before."""
    fast, _flask, counter = paths
    target = site[1]
    with uncached.app_context():
        engine = db.engine
    urls = ["/api/v1/articles", f"/api/v1/articles/{target.slug}"]
    before = [fast.get(url).get_data() for url in urls]
    engine.dispose()
    assert [fast.get(url).get_data() for url in urls] == before
    pooled = engine.raw_connection()
    pooled.invalidate()  # the next checkout connects again
    pooled.close()
    for _ in range(3):
        assert [fast.get(url).get_data() for url in urls] == before
    assert counter.calls == 0


def test_cut_connections_fail_one_plain_read_with_flasks_503(uncached, paths, site):
    """A database restart cuts every pooled connection: the plain read that meets one gets
    Flask's 503, and the pool replaces them all, so the next read is answered."""
    with uncached.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("cuts PostgreSQL connections")
    fast, _flask, counter = paths
    pooled = [engine.raw_connection() for _ in range(3)]  # three connections in the pool
    pids = [connection.driver_connection.info.backend_pid for connection in pooled]
    for connection in pooled:
        connection.close()
    db.session.execute(
        sa.text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) pid"), {"pids": pids}
    )
    cut = fast.get("/api/v1/articles")
    assert cut.status_code == 503 and int(cut.headers["Retry-After"]) > 0
    assert counter.calls == 1
    assert fast.get("/api/v1/articles").status_code == 200
    assert counter.calls == 1


def test_a_database_outage_is_flasks_503(app):
    unreachable = create_app(
        _config(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:9/none")
    )
    fast = unreachable.wsgi_app.wsgi_app
    try:
        for path in ("/api/v1/articles", "/api/v1/articles/some-story/related"):
            answers = [
                _answer(Client(wsgi_app), path, headers={"X-Request-ID": "req-6"})
                for wsgi_app in (unreachable.wsgi_app, fast.wsgi_app)
            ]
            assert answers[0] == answers[1]
            status, headers, _body = answers[0]
            assert status.startswith("503") and int(dict(headers)["Retry-After"]) > 0
    finally:
        with unreachable.app_context():
            db.engine.dispose()
