"""What the evaluation scripts share: a fresh app on a throw-away database (SQLite, or a new
PostgreSQL database dropped at exit) with an editor logged in, publishing through the editor API
(a set is read back over the public API, as users get it), and the bootstrap interval of a
mean."""

from __future__ import annotations

import atexit
import os
import random
import tempfile

PASSWORD = "evaluation-password-0123456789"
EDITOR = "eval@example.org"


def _throwaway_database(server_url: str) -> str:
    """A new, empty PostgreSQL database on the server of ``server_url``, dropped when the
    process exits; its URL."""
    from tests.databases import throwaway_database

    url, drop = throwaway_database(server_url, "cms_eval")

    def close_and_drop():
        from cms.extensions import db

        db.engine.dispose()
        drop()

    atexit.register(close_and_drop)
    return url


def fresh_app(prefix: str, database_url: str | None = None):
    """``(app, client, auth headers)``: a new app on an empty, migrated database (SQLite in a
    new temporary directory; or, given a PostgreSQL ``database_url``, a new database on that
    server, dropped at exit), its app context pushed, one editor logged in. The response cache
    is off, so every read sees the last write."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ["CMS_INSTANCE_PATH"] = tmp
    from flask_migrate import upgrade

    from cms import create_app
    from cms.services.accounts.users import create_user

    url = _throwaway_database(database_url) if database_url else f"sqlite:///{tmp}/eval.sqlite3"
    app = create_app(
        {
            "CMS_ENV": "testing",
            "TESTING": True,
            "CMS_PASSWORD_HASH_PROFILE": "test",
            "CMS_RESPONSE_CACHE_SECONDS": 0,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    app.app_context().push()
    upgrade()
    create_user(EDITOR, PASSWORD, "editor")
    client = app.test_client()
    token = client.post(
        "/api/v1/editor/auth/login", json={"email": EDITOR, "password": PASSWORD}
    ).get_json()["access_token"]
    return app, client, {"Authorization": f"Bearer {token}"}


def add_taxonomy(arts: list[dict]) -> None:
    """Create the sections, tags, sources and authors the articles ``arts`` name (by name, in
    ``section``, ``tags``, ``sources``, ``authors``), slugged as :func:`article_body` refers
    to them, and the sources their ``blocks`` cite (by slug)."""
    from slugify import slugify

    from cms.extensions import db
    from cms.models import Author, Section, Source, Tag

    taxonomy = ((Section, "section"), (Tag, "tags"), (Source, "sources"), (Author, "authors"))
    for model, key in taxonomy:
        names = set()
        for a in arts:
            value = a.get(key)
            names.update([value] if isinstance(value, str) else value or [])
        for name in sorted(names):
            extra = {"kind": "newspaper", "url": None} if model is Source else {}
            db.session.add(model(slug=slugify(name), name=name, **extra))
    named = {slugify(name) for a in arts for name in a.get("sources") or []}
    cited = {
        block["attribution"]["source"]
        for a in arts
        for block in a.get("blocks") or []
        if isinstance(block.get("attribution"), dict)
    }
    for slug in sorted(cited - named):
        db.session.add(Source(slug=slug, name=slug.title(), url=None, kind="newspaper"))
    db.session.commit()


def article_body(a: dict, blocks: list[dict]) -> dict:
    """The editor API's body creating the article ``a`` (a set's entry: ``title``, optional
    ``subtitle``, ``language``, ``section``, ``tags``, ``sources``, ``authors``) with
    ``blocks``."""
    from slugify import slugify

    body = {"title": a["title"], "body": blocks, "language": a.get("language", "en")}
    if a.get("subtitle"):
        body["subtitle"] = a["subtitle"]
    if a.get("section"):
        body["section"] = slugify(a["section"])
    for key in ("tags", "sources", "authors"):
        if a.get(key):
            body[key] = [slugify(v) for v in a[key]]
    return body


def publish(client, auth: dict, body: dict) -> dict:
    """Create an article with the editor API and publish it; the created article's JSON."""
    created = client.post("/api/v1/editor/articles", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    published = client.post(
        f"/api/v1/editor/articles/{created.get_json()['id']}/publish",
        headers={**auth, "If-Match": created.headers["ETag"]},
    )
    assert published.status_code == 200, published.get_json()
    return created.get_json()


def bootstrap_ci(values: list[float], n: int = 2000, seed: int = 7) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` (resampling the items)."""
    if not values:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    k = len(values)
    means = sorted(sum(rng.choices(values, k=k)) / k for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]
