"""The framework's ceiling: a minimal Flask app serving a fixed JSON document.

``GET /doc/<n>`` answers ``n`` bytes of JSON (built once, then served from memory) with the
same JSON provider (orjson) as the real app, so the HTTP benchmark can compare each endpoint
with "Flask + gunicorn doing nothing but returning a document of the same size".

    PORT=8001 gunicorn -c gunicorn.conf.py bench.ceiling_app:app
"""

from __future__ import annotations

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
