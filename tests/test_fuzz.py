"""Schema-driven fuzzing: every operation of the app's own OpenAPI document, with generated
valid and invalid input, must answer a documented status, with the documented content type and
body schema, and never a 5xx.

Public operations run anonymously, editor operations with an editor's token (admin for users
and the audit log). Bounded for CI: a fixed number of examples per operation, derandomized.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import (
    BODY,
    add_taxonomy,
    empty_tables,
    make_article,
    make_users,
    role_headers,
)

EXAMPLES_PER_OPERATION = int(os.environ.get("CMS_FUZZ_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


_DOCUMENT = """
import sys
from cms import create_app
app = create_app({"CMS_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
sys.stdout.write(app.test_client().get("/api/openapi.json").get_data(as_text=True))
"""


def _document() -> dict:
    """The OpenAPI document (needed at collection time, before the test app exists), from an
    app in a process of its own, so that this process keeps exactly one app."""
    env = {**os.environ, "CMS_INSTANCE_PATH": tempfile.mkdtemp(prefix="cms-fuzz-")}
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _DOCUMENT],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


schema = schemathesis.openapi.from_dict(_document())

# Ids and slugs of the seeded content, so that generated path parameters also hit real rows.
KNOWN: dict[str, list] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    real = {name: KNOWN[name] for name in path_parameters if KNOWN.get(name)}
    if not real:
        return st.just(path_parameters)
    seeded = st.fixed_dictionaries(
        {name: st.sampled_from(values) for name, values in real.items()}
    ).map(lambda chosen: {**path_parameters, **chosen})
    return st.one_of(seeded, st.just(path_parameters))


# Slugs the seeded taxonomy has: half of the generated article bodies name these instead of
# random ones, so that creates and updates get past "no such section" and reach the write.
TAXONOMY = {
    "section": ["news", "sport"],
    "tags": ["energy", "port"],
    "authors": ["ana-writer", "ed-itor"],
    "sources": ["handelsblatt", "reuters"],
}


@schema.hook
def map_body(context, body):
    if not isinstance(body, dict) or not context.operation.path.startswith(
        "/api/v1/editor/articles"
    ):
        return body
    if zlib.crc32(repr(sorted(body.items(), key=str)).encode()) % 2:
        return body
    body = dict(body)
    for key, known in TAXONOMY.items():
        if isinstance(body.get(key), str):
            body[key] = known[0]
        elif isinstance(body.get(key), list):
            body[key] = known[: len(body[key])]
    return body


def _role_for(path: str) -> str | None:
    if not path.startswith("/api/v1/editor/") or path == "/api/v1/editor/auth/login":
        return None
    if path.startswith(("/api/v1/editor/users", "/api/v1/editor/audit")):
        return "admin"
    return "editor"


def _seed(users, clock) -> None:
    """A few articles in several states, with revisions, a summary and curated links."""
    published = [
        make_article(
            f"Port story number {n}",
            status="published",
            author=users["editor"],
            tags=["energy", "port"],
            authors=["ed-itor"],
            published_at=clock.now - timedelta(hours=3 - n),
        )
        for n in range(3)
    ]
    draft = make_article(
        "Draft about the harbour", status="draft", author=users["writer"], body=BODY[:2]
    )
    review = make_article("Waiting for review", status="in_review", author=users["writer"])
    scheduled = make_article(
        "Scheduled for later", status="scheduled", published_at=clock.now + timedelta(days=2)
    )
    articles = [*published, draft, review, scheduled]
    KNOWN.clear()
    KNOWN.update(
        article_id=[a.id for a in articles],
        slug=[a.slug for a in articles]
        + ["news", "energy", "port", "ed-itor", "ana-writer", "reuters", "handelsblatt"],
        user_id=[u.id for u in users.values()],
        number=[1, 2],
    )


@pytest.fixture
def seeded(client, users, headers, clock):
    _seed(users, clock)
    yield
    KNOWN.clear()


def _fresh_world(client, clock) -> dict:
    """Empty tables, then the vocabulary, logins and articles of the fixtures again; returns
    the Authorization headers by role. Each stateful sequence starts from this same state, so
    that a replayed sequence meets the database it first met."""
    empty_tables()
    add_taxonomy()
    users = make_users()
    _seed(users, clock)
    return role_headers(client, users)


@pytest.fixture
def quiet_logs():
    """Generated garbage makes the app log warnings by the hundred; keep the output readable."""
    logging.disable(logging.ERROR)
    yield
    logging.disable(logging.NOTSET)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case, app, client, seeded, headers, quiet_logs):
    role = _role_for(case.path)
    extra = dict(headers[role]) if role else {}
    if role is None and case.headers:
        case.headers.pop("Authorization", None)
    if _sends_current_etag(case):
        # Half of the writes guarded by If-Match are sent with the ETag just read, so that
        # they get past the precondition and exercise the write itself.
        current = client.get(
            f"/api/v1/editor/articles/{case.path_parameters['article_id']}",
            headers=headers["editor"],
        )
        if current.status_code == 200:
            extra["If-Match"] = current.headers["ETag"]
    case.call_and_validate(app=app, headers=extra, checks=CHECKS)


def _sends_current_etag(case) -> bool:
    if "article_id" not in (case.path_parameters or {}) or case.method not in ("PATCH", "POST"):
        return False
    # deterministic: the same generated case always makes the same choice
    return zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2 == 0


STATEFUL_EXAMPLES = int(os.environ.get("CMS_FUZZ_STATEFUL_EXAMPLES", "15"))


def test_stateful_sequences_follow_the_links(app, client, clock, quiet_logs):
    """Sequences of calls that follow the document's links (create an article, then read,
    update, publish it with the ETag just returned, list its revisions, read it publicly, ...)
    answer only documented statuses, types and bodies, and never a 5xx."""

    headers: dict = {}

    class Workflow(schema.as_state_machine()):
        def setup(self):
            headers.update(_fresh_world(client, clock))
            # the test's own logins stay usable: deleting or demoting them is not the point
            self.logins = set(KNOWN["user_id"])

        def get_call_kwargs(self, case):
            role = _role_for(case.path)
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            if role:
                case.headers.update(headers[role])
            user_id = (case.path_parameters or {}).get("user_id")
            if case.method != "GET" and user_id in self.logins:
                case.path_parameters["user_id"] = 2**31 - 1
            return {"app": app}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            # No shrinking: a replay meets the database the earlier sequences changed, so a
            # shrunk sequence is not the same test; the failing sequence is reported as it ran.
            phases=[Phase.explicit, Phase.generate],
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
