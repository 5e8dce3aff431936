"""A Python client generated from the served OpenAPI document (openapi-python-client) works
against a live server: list with a cursor, detail, summary, related, login, create, publish with
``If-Match``, and a stale ``If-Match`` read as a typed 412 problem."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, make_article

HERE = Path(__file__).resolve().parent
GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))


@pytest.fixture
def live_server(app):
    """The test app served over HTTP on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.skipif(GENERATOR is None, reason="openapi-python-client (dev extra) not installed")
def test_generated_client_reads_writes_and_types_problems(live_server, users, clock, tmp_path):
    for n in range(3):
        make_article(
            f"Harbour story number {n}",
            author=users["editor"],
            published_at=clock.now - timedelta(hours=3 - n),
        )
    import urllib.request

    with urllib.request.urlopen(f"{live_server}/api/openapi.json") as response:
        (tmp_path / "openapi.json").write_bytes(response.read())
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")
    generated = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(tmp_path / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "newsroom_client"),
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    models = sorted(p.stem for p in (tmp_path / "newsroom_client" / "models").glob("*.py"))
    assert "hero_image" in models and "article_status" in models
    assert not [m for m in models if "type_0" in m or "type_1" in m], models

    run = subprocess.run(
        [
            sys.executable,
            str(HERE / "client_script.py"),
            live_server,
            "editor@example.org",
            PASSWORD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "stale: 412 Precondition Failed" in run.stdout, run.stdout
