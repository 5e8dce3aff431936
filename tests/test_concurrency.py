"""No lost updates under real concurrency: two writers PATCH the same version at the same time.

The app runs in a threaded WSGI server on a free port, against the suite's database (a SQLite
file, or PostgreSQL with ``CMS_TEST_DATABASE_URL``); two threads send their requests together.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

ROUNDS = 10


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)


def _call(method: str, url: str, headers: dict, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        **headers, **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, dict(error.headers), json.loads(raw or b"null")
        except ValueError:
            return error.code, dict(error.headers), raw.decode(errors="replace")


def _race(calls):
    """Run the calls at the same moment, one thread each; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = _call(*call)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_concurrent_patches_with_the_same_version_one_wins(server, headers):
    base = f"{server}/api/v1/editor/articles"
    editor, admin = headers["editor"], headers["admin"]
    status, _, created = _call("POST", base, editor, {"title": "Contested", "section": "news"})
    assert status == 201
    url = f"{base}/{created['id']}"

    for round_ in range(ROUNDS):
        _, got_headers, current = _call("GET", url, editor)
        etag = got_headers["ETag"]
        results = _race([
            ("PATCH", url, {**editor, "If-Match": etag}, {"title": f"Editor {round_}"}),
            ("PATCH", url, {**admin, "If-Match": etag}, {"title": f"Admin {round_}"}),
        ])
        statuses = sorted(r[0] for r in results)
        assert statuses == [200, 412], [(r[0], r[2]) for r in results]
        winner = next(r for r in results if r[0] == 200)
        loser = next(r for r in results if r[0] == 412)
        assert winner[2]["version"] == current["version"] + 1
        assert loser[2]["type"] == "urn:cms:problem:stale-version"
        # The stored article is the winner's, and the loser is told who changed what.
        _, _, stored = _call("GET", url, editor)
        assert stored["title"] == winner[2]["title"]
        assert stored["version"] == current["version"] + 1
        assert [c["field"] for c in loser[2].get("changed_since", [])] in (["title"], [])

    # Every round left exactly one revision (besides the creation).
    _, _, revisions = _call("GET", f"{url}/revisions?count=true", editor)
    assert revisions["meta"]["total"] == ROUNDS + 1


def test_concurrent_workflow_action_and_edit_one_wins(server, headers):
    base = f"{server}/api/v1/editor/articles"
    editor, admin = headers["editor"], headers["admin"]
    for round_ in range(ROUNDS):
        status, got_headers, created = _call("POST", base, editor, {"title": f"Race {round_}"})
        assert status == 201
        url = f"{base}/{created['id']}"
        etag = got_headers["ETag"]
        results = _race([
            ("POST", f"{url}/publish", {**editor, "If-Match": etag}, None),
            ("PATCH", url, {**admin, "If-Match": etag}, {"title": "Changed meanwhile"}),
        ])
        assert sorted(r[0] for r in results) == [200, 412], [(r[0], r[2]) for r in results]
