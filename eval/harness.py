"""What the evaluation scripts share: a fresh app on a throw-away SQLite database with an editor
logged in, publishing through the editor API (a set is read back over the public API, as users
get it), and the bootstrap interval of a mean."""

from __future__ import annotations

import os
import random
import tempfile

PASSWORD = "evaluation-password-0123456789"
EDITOR = "eval@example.org"


def fresh_app(prefix: str):
    """``(app, client, auth headers)``: a new app on an empty, migrated SQLite database in a
    new temporary directory, its app context pushed, one editor logged in. The response cache
    is off, so every read sees the last write."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ["CMS_INSTANCE_PATH"] = tmp
    from flask_migrate import upgrade

    from cms import create_app
    from cms.services.accounts.users import create_user

    app = create_app(
        {
            "CMS_ENV": "testing",
            "TESTING": True,
            "CMS_PASSWORD_HASH_PROFILE": "test",
            "CMS_RESPONSE_CACHE_SECONDS": 0,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/eval.sqlite3",
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
