"""The OpenAPI document is a contract generated clients and fuzzers can rely on: every operation
is named, every status a route can answer is documented, types have names, links lead on."""

from __future__ import annotations

import re

import pytest
from flask_jwt_extended.exceptions import JWTExtendedException
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.exceptions import PyJWTError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from cms.errors import CmsError
from cms.problems import OUTAGE_CANDIDATES
from cms.schemas.articles.editor import ArticleIn
from cms.schemas.common import HTTP_URL_PATTERN, PLAIN_TEXT_PATTERN, SLUG_RE, HttpUrl
from cms.schemas.taxonomy import SectionIn
from tests.openapi_statuses import statuses_raised

METHODS = ("get", "put", "post", "patch", "delete")
CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")

# Exceptions that libraries raise (not ``cms`` code), answered by an error handler of the app,
# and which operations can meet them. A new handler must be added here (see the test below).
LIBRARY_ERRORS = {
    # a missing, invalid, expired or revoked token: operations that need one
    JWTExtendedException: lambda path, method, operation: bool(operation.get("security")),
    PyJWTError: lambda path, method, operation: bool(operation.get("security")),
    OperationalError: lambda path, method, operation: True,  # the database is down
    # ``version_id_col`` on articles: a write to an article that another writer just changed
    StaleDataError: lambda path, method, operation: "{article_id}" in path and method != "get",
}


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").get_json()


def _operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _routes(app):
    """(OpenAPI path, method, view function) of every documented route of the app."""
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        if view_class is None or not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(m.lower() for m in rule.methods if m.lower() in METHODS):
            yield path, method, getattr(view_class, method)


def test_every_operation_has_a_unique_readable_operation_id(document):
    ids = [op.get("operationId") for _, _, op in _operations(document)]
    unnamed = [
        f"{m.upper()} {p}" for p, m, op in _operations(document) if not op.get("operationId")
    ]
    assert not unnamed, (
        "Name these operations where the route is declared: @blp.operation('verbNoun') "
        f"(README, 'Adding an endpoint'): {unnamed}"
    )
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"operationIds used twice: {duplicates}"
    not_camel = [i for i in ids if not CAMEL_CASE.match(i)]
    assert not not_camel, f"operationIds must be camelCase: {not_camel}"
    assert {
        "listArticles",
        "getArticle",
        "getArticleSummary",
        "getRelatedArticles",
        "searchArticles",
        "createArticle",
        "publishArticle",
        "login",
    } <= set(ids)


def test_every_route_is_in_the_document(app, document):
    missing = [
        f"{m.upper()} {p}" for p, m, _ in _routes(app) if m not in document["paths"].get(p, {})
    ]
    assert not missing


def test_every_status_a_route_raises_is_documented(app, document):
    """Collected from the code: domain errors raised (their ``status``), aborts and problems,
    following the calls from each view into the services."""
    undocumented = {}
    for path, method, view in _routes(app):
        documented = {int(s) for s in document["paths"][path][method]["responses"]}
        raised = statuses_raised(view)
        if raised - documented:
            undocumented[f"{method.upper()} {path}"] = sorted(raised - documented)
    assert not undocumented, f"statuses raised but not documented: {undocumented}"


def test_the_collector_finds_what_a_route_raises(app):
    """The collector itself: it follows views into services and their local imports."""
    routes = {(p, m): view for p, m, view in _routes(app)}
    update_user = statuses_raised(routes["/api/v1/editor/users/{user_id}", "patch"])
    assert {403, 404, 409} <= update_user  # role check, get_user, the email is taken
    restore = statuses_raised(
        routes["/api/v1/editor/articles/{article_id}/revisions/{number}/restore", "post"]
    )
    assert {404, 412, 428} <= restore


def _handler_status(app, exc_class) -> int:
    handler = app.error_handler_spec[None][None][exc_class]
    if issubclass(exc_class, DBAPIError):
        error = exc_class("SELECT 1", {}, Exception("test"))
    else:
        error = exc_class.__new__(exc_class)  # constructors differ; handlers read these:
        error.args, error.jwt_header, error.jwt_data, error.claim = ("test",), {}, {}, "sub"
    with app.test_request_context():
        return app.make_response(handler(error)).status_code


def test_every_status_an_error_handler_answers_is_documented(app, document):
    """Each error handler of the app either answers domain and HTTP errors (collected above
    from the code) or a library's exception, listed in LIBRARY_ERRORS with where it occurs."""
    unaccounted, undocumented = [], []
    for exc_class in app.error_handler_spec[None][None]:
        if issubclass(exc_class, CmsError | HTTPException):
            continue
        if exc_class in OUTAGE_CANDIDATES:
            # a database or Redis outage (cms.availability): 503 on any operation, else a 500
            occurs, status = (lambda path, method, operation: True), 503
        else:
            occurs = next(
                (f for base, f in LIBRARY_ERRORS.items() if issubclass(exc_class, base)), None
            )
            if occurs is None:
                unaccounted.append(exc_class.__name__)
                continue
            status = _handler_status(app, exc_class)
        for path, method, operation in _operations(document):
            if occurs(path, method, operation) and str(status) not in operation["responses"]:
                undocumented.append(f"{method.upper()} {path}: {status} ({exc_class.__name__})")
    assert not unaccounted, f"say in LIBRARY_ERRORS where these can occur: {unaccounted}"
    assert not undocumented


def test_users_patch_documents_the_email_conflict(client, headers, users, document):
    response = client.patch(
        f"/api/v1/editor/users/{users['writer'].id}",
        json={"email": "editor@example.org"},
        headers=headers["admin"],
    )
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert "409" in document["paths"]["/api/v1/editor/users/{user_id}"]["patch"]["responses"]


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_generated_clients_meet_named_types(document):
    schemas = document["components"]["schemas"]
    # no "any object" stand-in beside a nullable reference (clients made it a type of its own)
    anonymous = [
        node
        for node in _walk(document)
        if any(
            alt == {"type": "object", "nullable": True}
            for alt in node.get("anyOf", []) + node.get("oneOf", [])
        )
    ]
    assert not anonymous
    hero = schemas["ArticleIn"]["properties"]["hero_image"]
    assert hero["allOf"] == [{"$ref": "#/components/schemas/HeroImage"}] and hero["nullable"]
    assert schemas["ArticleStatus"]["enum"] == [
        "draft",
        "in_review",
        "scheduled",
        "published",
        "archived",
        "taken_down",
    ]
    assert schemas["EditorArticleOut"]["properties"]["status"] == {
        "$ref": "#/components/schemas/ArticleStatus"
    }
    # every inline enum of more than one value is a named schema instead
    inline = [
        node["enum"]
        for name, schema in schemas.items()
        for node in _walk(schema)
        if "enum" in node and len(node["enum"]) > 1 and node is not schema
    ]
    assert not inline


def test_links_lead_to_existing_operations_and_parameters(document):
    operations = {op["operationId"]: (path, op) for path, _, op in _operations(document)}
    broken, count = [], 0
    for _, _, operation in _operations(document):
        for status, response in operation["responses"].items():
            for name, link in response.get("links", {}).items():
                count += 1
                where = f"{operation['operationId']} {status} -> {name}"
                if link["operationId"] not in operations:
                    broken.append(f"{where}: no operation {link['operationId']}")
                    continue
                target_path, target = operations[link["operationId"]]
                known = set(re.findall(r"{([^}]+)}", target_path))
                known |= {p["name"] for p in target.get("parameters", [])}
                for parameter in link["parameters"]:
                    if parameter.split(".", 1)[-1] not in known:
                        broken.append(f"{where}: {link['operationId']} has no {parameter}")
    assert not broken
    assert count > 100
    create = document["paths"]["/api/v1/editor/articles"]["post"]["responses"]["201"]["links"]
    assert create["publish"] == {
        "operationId": "publishArticle",
        "parameters": {
            "article_id": "$response.body#/id",
            "header.If-Match": "$response.header.ETag",
        },
    }
    assert {"read", "revisions", "summary", "public_article", "public_related"} <= set(create)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(url=st.from_regex(HTTP_URL_PATTERN, fullmatch=True).filter(lambda u: len(u) <= 2000))
def test_a_url_the_document_allows_is_accepted(url):
    assert HttpUrl().deserialize(url)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(text=st.from_regex(PLAIN_TEXT_PATTERN).filter(lambda t: len(t) <= 500))
def test_plain_text_the_document_allows_is_accepted(text):
    """Titles, summaries: markup is removed on input, and something must be left."""
    assert ArticleIn(partial=True).load({"title": text})["title"]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(slug=st.from_regex(SLUG_RE, fullmatch=True).filter(lambda s: 1 <= len(s) <= 100))
def test_a_taxonomy_slug_the_document_allows_is_accepted(slug):
    assert SectionIn().load({"slug": slug, "name": "Section"})["slug"] == slug
