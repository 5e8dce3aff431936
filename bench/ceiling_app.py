"""The framework's ceiling: a minimal Flask app serving a fixed JSON document.

``GET /doc/<n>`` answers ``n`` bytes of JSON (built once, then served from memory) with the
same JSON provider (orjson) as the real app, so the HTTP benchmark can compare each endpoint
with "Flask + gunicorn doing nothing but returning a document of the same size".

    PORT=8001 gunicorn -c gunicorn.conf.py bench.ceiling_app:app
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime

from flask import Flask, request

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


# ``GET /floor/articles/<slug>``: the least a database-backed detail can cost here. One
# hand-written statement by slug reads the stored card, the body in its three forms and the
# summary of a visible article, and joins them into the document (without previous/next and
# corrections, which the app reads with a second statement).

_DETAIL_FLOOR_SQL = (
    "SELECT d.card, {body}, a.body_html, a.body_text, s.tldr, {key_points}"
    " FROM articles a JOIN article_cards d"
    " ON d.article_id = a.id AND d.article_version = a.version"
    " LEFT JOIN summaries s ON s.article_id = a.id"
    " WHERE a.slug = {slug} AND a.status IN ('published', 'scheduled') AND a.published_at <= {now}"
)


@app.get("/floor/articles/<slug>")
def floor_article(slug: str):
    cursor = _floor_cursor()
    if not hasattr(_floor, "detail_sql"):
        sqlite = isinstance(_floor.conn, sqlite3.Connection)
        _floor.detail_sql = _DETAIL_FLOOR_SQL.format(
            body="a.body" if sqlite else "a.body::text",
            key_points="s.key_points" if sqlite else "s.key_points::text",
            slug="?" if sqlite else "%s",
            now="?" if sqlite else "%s",
        )
    cursor.execute(_floor.detail_sql, (slug, _floor.now()))
    row = cursor.fetchone()
    if row is None:
        return app.response_class(b'{"title":"Not found"}', status=404)
    card, body, body_html, body_text, tldr, key_points = row
    summary = (
        "null"
        if tldr is None
        else '{"tldr":' + app.json.dumps(tldr) + ',"key_points":' + key_points + "}"
    )
    document = (
        card[:-1]
        + ',"body":'
        + body
        + ',"body_html":'
        + app.json.dumps(body_html)
        + ',"body_text":'
        + app.json.dumps(body_text)
        + ',"summary":'
        + summary
        + "}"
    )
    return app.response_class(document, mimetype="application/json")


# ``GET /floor/search?q=<word>``: the least a ranked search can cost here (PostgreSQL only).
# One hand-written statement ranks the 300 newest matches among the 600 newest listed
# articles (the app's window for a common word) by ``ts_rank_cd`` and reads the stored cards of
# the best 20; the page is the cards with their scores, without snippets. A simplification of
# the app's search: every document is taken as English (the generated articles are), and
# visibility is checked on the page's articles only.

_SEARCH_FLOOR_SQL = (
    "SELECT d.card, p.score FROM ("
    " SELECT w.article_id, w.listed_at,"
    " ts_rank_cd(w.document, plainto_tsquery('english', %(q)s), 1) AS score"
    " FROM (SELECT n.article_id, n.listed_at, n.document FROM ("
    " SELECT article_id, listed_at, document FROM article_search WHERE listed_at <= %(now)s"
    " ORDER BY listed_at DESC, article_id DESC LIMIT (SELECT 600)) n"
    " WHERE n.document @@ plainto_tsquery('english', %(q)s)"
    " ORDER BY n.listed_at DESC, n.article_id DESC LIMIT 300) w"
    " ORDER BY score DESC, w.listed_at DESC, w.article_id DESC LIMIT 21) p"
    " JOIN articles a ON a.id = p.article_id"
    " JOIN article_cards d ON d.article_id = a.id AND d.article_version = a.version"
    " WHERE a.status IN ('published', 'scheduled') AND a.published_at <= %(now)s"
    " ORDER BY p.score DESC, p.listed_at DESC, p.article_id DESC"
)


@app.get("/floor/search")
def floor_search():
    cursor = _floor_cursor()
    if isinstance(_floor.conn, sqlite3.Connection):
        return app.response_class(b'{"title":"PostgreSQL only"}', status=501)
    cursor.execute(_SEARCH_FLOOR_SQL, {"q": request.args.get("q", ""), "now": _floor.now()})
    hits = [card[:-1] + ',"score":' + repr(score) + "}" for card, score in cursor.fetchall()]
    body = '{"data":[' + ",".join(hits[:20]) + '],"meta":{"limit":20,"next_cursor":null}}'
    return app.response_class(body, mimetype="application/json")
