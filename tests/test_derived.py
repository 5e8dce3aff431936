"""Derived data computed by the worker: the article's own suggestion list and offering it to
other articles' lists are a job in ``derived_jobs``, run by the worker or by
``flask --app wsgi derived run-pending``, after which every list is what a full rebuild makes."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from cms.clock import utcnow
from cms.extensions import db
from cms.models import DerivedJob, Suggestion
from cms.services import generation
from cms.services.derived import jobs as derived_jobs
from tests.conftest import drain, make_article
from tests.test_suggestions import STRIKE, STRIKE_2, UNRELATED, _para, _publish, _suggested
from tests.test_worker import workers  # noqa: F401  (fixture)


def _lists() -> dict[int, list[int]]:
    """Every stored list, in rank order."""
    lists: dict[int, list[int]] = {}
    rows = db.session.execute(
        sa.select(Suggestion.article_id, Suggestion.target_id).order_by(
            Suggestion.article_id, Suggestion.score.desc(), Suggestion.target_id
        )
    )
    for article_id, target_id in rows:
        lists.setdefault(article_id, []).append(target_id)
    return lists


def _older(users):
    return [
        make_article(title, body=[_para(text)], tags=["port"] if i < 2 else [])
        for i, (title, text) in enumerate(
            [
                ("Dockworkers strike at Westerhaven port", STRIKE[0]["text"]),
                ("Port strike enters third day", STRIKE_2[0]["text"]),
                *UNRELATED[:4],
            ]
        )
    ]


def test_publish_leaves_other_lists_to_the_job_which_converges_to_a_rebuild(
    app, client, users, headers
):
    older = _older(users)
    assert derived_jobs.pending() == 0  # fixtures are settled
    before = _lists()
    article = _publish(
        client, headers["editor"], "Port Authority improves offer to dockworkers", STRIKE[1]["text"]
    )
    # The new article's list is there the moment the publish answers, ranked as it is read
    # while its job waits; nothing is stored yet, for it or for the other articles.
    url = f"/api/v1/articles/{article['slug']}/related?limit=20"
    read_at_once = client.get(url).get_json()["related"]
    assert len(read_at_once) >= 5
    assert _lists() == before
    assert db.session.scalars(sa.select(DerivedJob.article_id)).all() == [article["id"]]
    assert article["slug"] not in _suggested(client, older[0].slug)

    generation_before = generation.current(db.session.connection())
    db.session.commit()
    assert "Ran 1 derived-data jobs (1 were waiting, 0 left)." in drain(app)
    assert derived_jobs.pending() == 0
    # The job's commit changes public /related: it moves the content generation (cache keys).
    assert generation.current(db.session.connection()) > generation_before
    db.session.commit()
    assert article["slug"] in _suggested(client, older[0].slug)
    # What the job stored is what readers were shown before it ran.
    assert client.get(url).get_json()["related"] == read_at_once  # same scores and reasons
    assert _lists()[article["id"]]

    drained = _lists()
    result = app.test_cli_runner().invoke(args=["rebuild", "related"])
    assert result.exit_code == 0, result.output
    assert _lists() == drained


def test_a_draft_is_never_offered_to_readers_by_the_job(app, client, users, headers):
    older = _older(users)
    draft = client.post(
        "/api/v1/editor/articles",
        json={"title": "Draft: dockworkers strike again", "body": [_para(STRIKE[0]["text"])]},
        headers=headers["editor"],
    ).get_json()
    drain(app)
    # stored for editors, filtered for readers
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Suggestion)
        .where(Suggestion.target_id == draft["id"])
    )
    for article in older:
        assert draft["slug"] not in _suggested(client, article.slug, limit=100)


def test_a_lease_is_exclusive_and_a_killed_worker_loses_nothing(app, client, users, headers):
    older = _older(users)
    article = _publish(client, headers["editor"], "Port strike talks collapse", STRIKE[0]["text"])
    lease = derived_jobs.claim()
    assert [a for a, _ in lease.jobs] == [article["id"]]
    assert derived_jobs.claim() is None  # a second worker finds nothing to take
    # The first worker dies here. Its lease expires; the job is taken again and done once.
    db.session.execute(sa.update(DerivedJob).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    again = derived_jobs.claim()
    assert again is not None and again.token != lease.token
    assert derived_jobs.run(again) == 1
    assert derived_jobs.pending() == 0
    assert derived_jobs.run(lease) == 0  # the stale lease holds no row: nothing is done twice
    assert article["slug"] in _suggested(client, older[0].slug)


def test_a_save_during_the_job_makes_it_run_again(app, client, users, headers):
    _older(users)
    article = _publish(client, headers["editor"], "Port strike talks collapse", STRIKE[0]["text"])
    lease = derived_jobs.claim()
    # saved again while the worker runs: the row gets a new version
    db.session.execute(sa.update(DerivedJob).values(version=DerivedJob.version + 1))
    db.session.commit()
    assert derived_jobs.run(lease) == 1
    row = db.session.get(DerivedJob, article["id"])
    assert row is not None and row.lease_token is None  # released, due again
    assert derived_jobs.run_pending() == 1
    assert derived_jobs.pending() == 0


def test_a_job_for_an_article_deleted_meanwhile_is_dropped(app, client, users, headers):
    from cms.models import Article

    _older(users)
    article = _publish(client, headers["editor"], "Port strike talks collapse", STRIKE[0]["text"])
    db.session.execute(sa.delete(Article).where(Article.id == article["id"]))
    db.session.commit()
    assert derived_jobs.pending() == 1
    drain(app)
    assert derived_jobs.pending() == 0


def test_the_worker_offers_a_new_article_to_older_lists_within_seconds(
    app,
    client,
    users,
    headers,
    workers,  # noqa: F811
):
    older = _older(users)
    article = _publish(
        client, headers["editor"], "Port Authority improves offer to dockworkers", STRIKE[1]["text"]
    )
    assert article["slug"] not in _suggested(client, older[0].slug)
    db.session.commit()
    pool = workers()
    pool.start()
    deadline = time.monotonic() + 20
    seen_at = None
    while time.monotonic() < deadline:
        db.session.commit()
        if article["slug"] in _suggested(client, older[0].slug):
            seen_at = time.monotonic()
            break
        time.sleep(0.1)
    assert seen_at is not None, pool.logs()
    assert derived_jobs.pending() == 0


def test_a_lock_conflict_releases_the_job_for_the_next_round(
    app, client, users, headers, monkeypatch
):
    from sqlalchemy.exc import DBAPIError

    from cms.services.related import suggestions

    older = _older(users)
    article = _publish(client, headers["editor"], "Port strike talks collapse", STRIKE[0]["text"])

    class Deadlock(Exception):
        sqlstate = "40P01"

    def conflict(*args, **kwargs):
        raise DBAPIError("UPDATE related_suggestions ...", {}, Deadlock())

    monkeypatch.setattr(suggestions, "refresh_suggestions", conflict)
    assert derived_jobs.run(derived_jobs.claim()) == 0
    row = db.session.get(DerivedJob, article["id"])
    assert row is not None and row.lease_token is None  # due again at once, not in 5 minutes
    monkeypatch.undo()
    assert derived_jobs.run_pending() == 1
    assert article["slug"] in _suggested(client, older[0].slug)
