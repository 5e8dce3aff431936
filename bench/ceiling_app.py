"""The framework's ceiling: a minimal Flask app serving a fixed JSON document.

``GET /doc/<n>`` answers ``n`` bytes of JSON (built once, then served from memory) with the
same JSON provider (orjson) as the real app, so the HTTP benchmark can compare each endpoint
with "Flask + gunicorn doing nothing but returning a document of the same size".

    PORT=8001 gunicorn -c gunicorn.conf.py bench.ceiling_app:app
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

from flask import Flask

from cms.extensions import db
from cms.json import OrjsonProvider

app = Flask(__name__)
app.json = OrjsonProvider(app)
# The production gunicorn config's post_fork hook disposes the Flask-SQLAlchemy engine; give
# it one (never used by requests) so both apps run under the very same configuration.
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
db.init_app(app)

_documents: dict[int, bytes] = {}


def _document(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (article-card-like content)."""
    doc = _documents.get(size)
    if doc is None:
        item = {"id": 1, "slug": "ceiling", "title": "Ceiling", "excerpt": ""}
        body = {"data": [item], "meta": {"limit": 20, "next_cursor": None}}
        base = len(app.json.dumps(body))
        item["excerpt"] = "x" * max(0, size - base)
        doc = _documents[size] = app.json.dumps(body).encode()
    return doc


@app.get("/doc/<int:size>")
def document(size: int):
    return app.response_class(_document(min(size, 10_000_000)), mimetype="application/json")


# --- the database floor ------------------------------------------------------------------------
# ``GET /floor/articles``: the least a database-backed list can cost here. One hand-written SQL
# statement on a per-thread DB-API connection (no ORM, no pool, no argument parsing, no hooks)
# reads the 20 newest visible articles' stored cards (``article_cards``, the same rows the
# app's list reads) and joins them into the page. What separates the app from this is the
# framework around its query; what separates this from the ceiling is the database round trip.

_FLOOR_SQL = (
    "SELECT d.card FROM articles a JOIN article_cards d"
    " ON d.article_id = a.id AND d.article_version = a.version"
    " WHERE a.status IN ('published', 'scheduled') AND a.published_at <= {now}"
    " ORDER BY a.published_at DESC, a.id DESC LIMIT 21"
)
_floor = threading.local()


def _floor_cursor():
    conn = getattr(_floor, "conn", None)
    if conn is None:
        url = os.environ["CMS_DATABASE_URL"]
        if url.startswith("sqlite"):
            import sqlite3

            conn = sqlite3.connect(url.split("///", 1)[1], check_same_thread=False)
            _floor.sql = _FLOOR_SQL.format(now="?")
            _floor.now = lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            import psycopg

            conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
            _floor.sql = _FLOOR_SQL.format(now="%s")
            _floor.now = lambda: datetime.now(UTC).replace(tzinfo=None)
        _floor.conn = conn
    return conn.cursor()


@app.get("/floor/articles")
def floor_articles():
    cursor = _floor_cursor()
    cursor.execute(_floor.sql, (_floor.now(),))
    cards = [row[0] for row in cursor.fetchall()]
    body = '{"data":[' + ",".join(cards[:20]) + '],"meta":{"limit":20,"next_cursor":null}}'
    return app.response_class(body, mimetype="application/json")
