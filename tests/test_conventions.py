"""§2 conventions on every endpoint: problem details, request ids, caching, CORS, docs."""

from __future__ import annotations

import logging
import re

import pytest

from cms.services.public import reading
from tests.conftest import PASSWORD, make_article

PUBLIC_CACHE = "public, max-age=60, stale-while-revalidate=300"


def assert_problem(response, status: int) -> dict:
    """The response is RFC 9457 problem details with ``status``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.fixture
def article(users):
    return make_article("Port handles record volume")


def _etag(client, article_id, headers):
    return client.get(f"/api/v1/editor/articles/{article_id}", headers=headers).headers["ETag"]


# --- 4xx -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles?colour=red",
        "/api/v1/articles?limit=5&sectoin=news",
        "/api/v1/articles/{slug}?colour=red",
        "/api/v1/articles/{slug}/summary?colour=red",
        "/api/v1/articles/{slug}/related?colour=red",
        "/api/v1/sections?colour=red",
        "/api/v1/tags/energy?colour=red",
        "/api/v1/authors/ana-writer?colour=red",
        "/api/v1/sources?colour=red",
    ],
)
def test_unknown_query_parameter_is_400(client, article, path):
    response = client.get(path.format(slug=article.slug))

    body = assert_problem(response, 400)
    unknown = "sectoin" if "sectoin" in path else "colour"
    assert unknown in body["errors"]
    assert unknown in body["detail"]
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_query_parameter_on_editor_endpoint_is_400(client, headers):
    response = client.get("/api/v1/editor/articles?colour=red", headers=headers["editor"])
    assert "colour" in assert_problem(response, 400)["errors"]


def test_malformed_json_body_is_400(client, headers):
    response = client.post(
        "/api/v1/editor/articles",
        data='{"title": "Unclosed',
        content_type="application/json",
        headers=headers["editor"],
    )
    assert_problem(response, 400)


def test_no_token_is_401(client, users):
    assert_problem(client.get("/api/v1/editor/articles"), 401)


def test_garbage_token_is_401(client, users):
    response = client.get("/api/v1/editor/articles", headers={"Authorization": "Bearer nonsense"})
    assert_problem(response, 401)


def test_wrong_password_is_401(client, users):
    response = client.post("/api/v1/editor/auth/login",
                           json={"email": "editor@example.org", "password": "wrong password"})
    assert_problem(response, 401)


def test_role_not_allowed_is_403(client, headers, article):
    response = client.post(
        f"/api/v1/editor/articles/{article.id}/archive",
        json={},
        headers={**headers["writer"], "If-Match": f'"a{article.id}-v{article.version}"'},
    )
    assert_problem(response, 403)


def test_missing_public_resources_are_404_and_not_cached(client, users):
    for path in ("/api/v1/articles/no-such-story", "/api/v1/articles/no-such-story/summary",
                 "/api/v1/tags/no-such-tag", "/api/v1/no-such-endpoint", "/nowhere"):
        response = client.get(path)
        assert_problem(response, 404)
        assert response.headers["Cache-Control"] == "no-store", path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/articles"),
        ("put", "/api/v1/articles/{slug}"),
        ("delete", "/api/v1/articles/{slug}"),
        ("post", "/api/v1/articles/{slug}/summary"),
        ("post", "/api/v1/tags"),
    ],
)
def test_write_to_public_endpoint_is_405_with_allow(client, article, method, path):
    response = getattr(client, method)(path.format(slug=article.slug), json={})

    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allowed
    assert not allowed & {"POST", "PUT", "PATCH", "DELETE"}
    assert response.headers["Cache-Control"] == "no-store"


def test_taken_slug_is_409(client, headers, article):
    response = client.post("/api/v1/editor/articles",
                           json={"title": "Another", "slug": article.slug},
                           headers=headers["editor"])
    assert_problem(response, 409)


def test_invalid_transition_is_409(client, headers, users):
    draft = make_article("A draft", status="draft")
    response = client.post(f"/api/v1/editor/articles/{draft.id}/archive", json={},
                           headers={**headers["editor"], "If-Match": f'"a{draft.id}-v1"'})
    body = assert_problem(response, 409)
    assert "publish" in body["detail"]


def test_stale_if_match_is_412(client, headers, article):
    stale = _etag(client, article.id, headers["editor"])
    first = client.patch(f"/api/v1/editor/articles/{article.id}", json={"title": "First edit"},
                         headers={**headers["editor"], "If-Match": stale})
    assert first.status_code == 200
    second = client.patch(f"/api/v1/editor/articles/{article.id}", json={"title": "Second edit"},
                          headers={**headers["editor"], "If-Match": stale})
    assert_problem(second, 412)


def test_body_over_the_limit_is_413(client, app, headers, monkeypatch):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024  # CMS_MAX_BODY_BYTES default
    big = {"title": "Big", "body": [{"type": "paragraph", "text": "x" * 1_100_000}]}
    assert_problem(client.post("/api/v1/editor/articles", json=big, headers=headers["editor"]),
                   413)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 200)
    response = client.post("/api/v1/editor/articles",
                           json={"title": "Small but over the lowered limit " + "y" * 300},
                           headers=headers["editor"])
    assert_problem(response, 413)


def test_form_encoded_body_is_415(client, headers):
    response = client.post("/api/v1/editor/articles", data={"title": "Form post"},
                           headers=headers["editor"])
    assert_problem(response, 415)


def test_invalid_body_is_422_with_errors_by_field_path(client, headers, users):
    response = client.post(
        "/api/v1/editor/articles",
        json={"title": "", "nonsense": 1,
              "body": [{"type": "paragraph", "text": "ok"}, {"type": "paragraph"}]},
        headers=headers["editor"],
    )
    body = assert_problem(response, 422)
    assert {"title", "nonsense", "body.1.text"} <= set(body["errors"])
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_write_without_precondition_is_428(client, headers, article):
    response = client.patch(f"/api/v1/editor/articles/{article.id}", json={"title": "Edit"},
                            headers=headers["editor"])
    assert_problem(response, 428)


def test_repeated_failed_logins_are_429_with_retry_after(client, users):
    attempt = {"email": "writer@example.org", "password": "not the password"}
    for _ in range(5):
        assert client.post("/api/v1/editor/auth/login", json=attempt).status_code == 401
    response = client.post("/api/v1/editor/auth/login", json=attempt)
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    # even the right password waits now
    right = client.post("/api/v1/editor/auth/login",
                        json={"email": "writer@example.org", "password": PASSWORD})
    assert right.status_code == 429


# --- 5xx -------------------------------------------------------------------------------------


def test_server_error_hides_the_trace_and_logs_the_request_id(client, app, users, monkeypatch,
                                                               caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(reading, "list_articles", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/articles", headers={"X-Request-ID": "req-500-check"})

    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "RuntimeError" not in text and 'File "' not in text
    assert response.headers["X-Request-ID"] == "req-500-check"
    assert body["request_id"] == "req-500-check"
    assert "request id" in body["detail"]
    logged = [r for r in caplog.records if "req-500-check" in r.getMessage()]
    assert logged, [r.getMessage() for r in caplog.records]
    assert logged[0].exc_info and logged[0].exc_info[0] is RuntimeError
    assert response.headers["Cache-Control"] == "no-store"


# --- request ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/articles", "/api/v1/articles/missing", "/api/v1/tags", "/healthz", "/readyz",
     "/api/openapi.json", "/api/docs", "/api/v1/editor/articles"],
)
def test_every_response_has_a_request_id(client, users, path):
    first = client.get(path).headers.get("X-Request-ID")
    second = client.get(path).headers.get("X-Request-ID")
    assert first and second and first != second


def test_request_id_is_echoed_and_garbage_replaced(client, users):
    sent = "3f2a9c1e-client-trace.42"
    assert client.get("/api/v1/articles", headers={"X-Request-ID": sent}).headers[
        "X-Request-ID"] == sent
    for garbage in ("bad id with spaces", "<script>alert(1)</script>", "x" * 500):
        answered = client.get("/api/v1/articles", headers={"X-Request-ID": garbage})
        assert answered.headers["X-Request-ID"] not in (garbage, "")
        assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", answered.headers["X-Request-ID"])
    problem = client.get("/api/v1/articles/missing", headers={"X-Request-ID": sent}).get_json()
    assert problem["request_id"] == sent


# --- caching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/articles", "/api/v1/articles/{slug}", "/api/v1/articles/{slug}/summary",
     "/api/v1/articles/{slug}/related", "/api/v1/sections", "/api/v1/tags/energy"],
)
def test_public_200s_are_cacheable_and_revalidate_with_304(client, article, path):
    url = path.format(slug=article.slug)
    response = client.get(url)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC_CACHE
    etag = response.headers["ETag"]
    assert etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_detail_has_last_modified_and_a_new_etag_after_an_edit(client, headers, article):
    url = f"/api/v1/articles/{article.slug}"
    first = client.get(url)
    assert first.headers["Last-Modified"].endswith("GMT")

    etag = _etag(client, article.id, headers["editor"])
    edit = client.patch(f"/api/v1/editor/articles/{article.id}",
                        json={"subtitle": "Now with a standfirst"},
                        headers={**headers["editor"], "If-Match": etag})
    assert edit.status_code == 200

    after = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["subtitle"] == "Now with a standfirst"
    assert after.headers["ETag"] != first.headers["ETag"]


def test_editor_responses_are_not_stored(client, headers, article):
    for path in ("/api/v1/editor/articles", f"/api/v1/editor/articles/{article.id}",
                 "/api/v1/editor/auth/me"):
        assert client.get(path, headers=headers["editor"]).headers["Cache-Control"] == "no-store"


def test_old_slug_redirects_with_relative_location_keeping_the_query(client, headers, article):
    old = article.slug
    etag = _etag(client, article.id, headers["editor"])
    renamed = client.patch(f"/api/v1/editor/articles/{article.id}", json={"slug": "port-record"},
                           headers={**headers["editor"], "If-Match": etag})
    assert renamed.status_code == 200, renamed.get_json()

    response = client.get(f"/api/v1/articles/{old}?formats=html,text")
    assert response.status_code == 301
    assert response.headers["Location"] == "/api/v1/articles/port-record?formats=html,text"
    summary = client.get(f"/api/v1/articles/{old}/summary")
    assert summary.status_code == 301
    assert summary.headers["Location"] == "/api/v1/articles/port-record/summary"
    assert client.get(response.headers["Location"]).status_code == 200


# --- CORS ------------------------------------------------------------------------------------


def test_cross_origin_get_is_readable_with_exposed_headers(client, article):
    response = client.get("/api/v1/articles?limit=1", headers={"Origin": "https://news.example"})

    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://news.example")
    exposed = {h.strip().lower() for h in
               response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "link", "x-request-id"} <= exposed


def test_cors_preflight(client, users):
    response = client.options(
        "/api/v1/editor/articles",
        headers={"Origin": "https://editor.example", "Access-Control-Request-Method": "PATCH",
                 "Access-Control-Request-Headers": "Authorization, If-Match, Content-Type"},
    )
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://editor.example")
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "if-match" in allowed


# --- health and docs -------------------------------------------------------------------------


def test_health_and_readiness(client, app):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document(client, users):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    paths = spec["paths"]
    for path in (
        "/api/v1/articles",
        "/api/v1/articles/{slug}",
        "/api/v1/articles/{slug}/summary",
        "/api/v1/articles/{slug}/related",
        "/api/v1/sections",
        "/api/v1/tags/{slug}",
        "/api/v1/authors",
        "/api/v1/sources/{slug}",
        "/api/v1/editor/auth/login",
        "/api/v1/editor/articles",
        "/api/v1/editor/articles/{article_id}",
        "/api/v1/editor/articles/{article_id}/publish",
        "/api/v1/editor/articles/{article_id}/summary",
    ):
        assert path in paths, path
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    for path, item in paths.items():
        operations = {k: v for k, v in item.items() if k in methods}
        assert operations, path
        for operation in operations.values():
            assert operation["responses"], path
        for name in re.findall(r"{(\w+)}", path):
            declared = [p["name"] for p in item.get("parameters", [])] + [
                p["name"] for op in operations.values() for p in op.get("parameters", [])
            ]
            assert name in declared, (path, name)
    # public endpoints are read-only; every $ref resolves
    assert set(paths["/api/v1/articles"]) & methods == {"get"}
    schemas = spec["components"]["schemas"]
    for ref in set(_refs(spec)):
        kind, _, name = ref.removeprefix("#/components/").partition("/")
        assert name in spec["components"][kind], ref
    # every 4xx/5xx of every operation is documented as a problem document (RFC 9457)
    assert {"type", "title", "status", "detail"} <= set(schemas["Problem"]["properties"])
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    documented = spec["components"]["responses"]
    errors = {
        (path, method, status): documented[r["$ref"].split("/")[-1]] if "$ref" in r else r
        for path, item in paths.items()
        for method, operation in item.items()
        if method in methods
        for status, r in operation["responses"].items()
        if status[0] in "45"
    }
    assert {(p, m) for p, m, _ in errors} == {
        (p, m) for p, item in paths.items() for m in item if m in methods
    }  # each operation documents its errors
    for where, response in errors.items():
        assert response.get("content") == problem, where
    list_params = {p["name"] for p in paths["/api/v1/articles"]["get"]["parameters"]}
    assert {"limit", "cursor", "section", "tag", "fields", "count"} <= list_params


def test_docs_work_offline(client, users):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    tags = re.findall(r"<(?:script|link)\b[^>]*>", page, flags=re.IGNORECASE)
    assert tags
    assets = []
    for tag in tags:
        assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", tag, re.I), tag
        match = re.search(r"(?:src|href)\s*=\s*[\"']([^\"']+)", tag, re.I)
        if match:
            assets.append(match.group(1))
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.get_data()
    assert "/api/openapi.json" in page


def test_if_modified_since_sees_summary_and_neighbour_changes(client, headers, article, clock):
    url = f"/api/v1/articles/{article.slug}"
    since = client.get(url).headers["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": since}).status_code == 304

    clock.advance(minutes=5)
    written = client.put(f"/api/v1/editor/articles/{article.id}/summary",
                         json={"tldr": "Record volume at the port.", "key_points": []},
                         headers=headers["editor"])
    assert written.status_code == 200
    after_summary = client.get(url, headers={"If-Modified-Since": since})
    assert after_summary.status_code == 200
    assert after_summary.get_json()["summary"]["tldr"] == "Record volume at the port."

    since = after_summary.headers["Last-Modified"]
    clock.advance(minutes=5)
    make_article("A later story", published_at=clock.now)
    after_next = client.get(url, headers={"If-Modified-Since": since})
    assert after_next.status_code == 200
    assert after_next.get_json()["next"]["slug"] == "a-later-story"
