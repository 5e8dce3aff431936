"""Suggested related articles through the public and editor APIs."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_article


def _para(text, source=None):
    return {
        "type": "paragraph",
        "text": text,
        "attribution": {"source": source} if source else None,
    }


STRIKE = [
    _para(
        "Dockworkers at the port of Westerhaven walked out on Monday after pay talks with "
        "the Port Authority collapsed.",
        "reuters",
    ),
    _para(
        "The Dockworkers' Union said the strike would continue until the Port Authority "
        "improves its offer. Container ships are queuing in the outer bay."
    ),
]
STRIKE_2 = [
    _para(
        "The dockworkers' strike at the port of Westerhaven entered its third day as the "
        "Port Authority and the Dockworkers' Union met a mediator.",
        "handelsblatt",
    ),
    _para("Queues of container ships in the outer bay grew longer, the Port Authority said."),
]
FOOTBALL = [
    _para(
        "Westerhaven Rovers won promotion on Saturday with a late header from Jonas Mbeki, "
        "sending the stadium into raptures."
    ),
    _para("The coach praised the squad's resilience over a long season in the fourth division."),
]


@pytest.fixture
def cluster(users):
    now = datetime.now(UTC)
    walkout = make_article(
        "Dockworkers strike at Westerhaven port",
        body=STRIKE,
        tags=["port"],
        published_at=now - timedelta(hours=5),
    )
    day_three = make_article(
        "Port strike enters third day",
        body=STRIKE_2,
        tags=["port"],
        published_at=now - timedelta(hours=3),
    )
    football = make_article(
        "Rovers win promotion",
        body=FOOTBALL,
        section="sport",
        tags=[],
        published_at=now - timedelta(hours=4),
    )
    draft = make_article(
        "Draft: strike talks at the port resume", body=STRIKE_2, tags=["port"], status="draft"
    )
    return walkout, day_three, football, draft


def test_same_story_is_suggested_first_with_score_and_reason(client, cluster):
    walkout, day_three, football, draft = cluster
    related = client.get(f"/api/v1/articles/{walkout.slug}/related").get_json()["related"]
    suggested = [r for r in related if r["kind"] == "suggested"]
    assert suggested, related
    assert suggested[0]["article"]["slug"] == day_three.slug
    for item in suggested:
        assert 0 <= item["score"] <= 1
        assert item["reason"]
        assert item["article"]["slug"] != walkout.slug
    slugs = [r["article"]["slug"] for r in suggested]
    assert draft.slug not in slugs
    if football.slug in slugs:
        assert slugs.index(football.slug) > slugs.index(day_three.slug)


def test_drafts_are_offered_to_editors_but_never_to_readers(client, cluster, headers):
    walkout, _, _, draft = cluster
    response = client.get(
        f"/api/v1/editor/articles/{walkout.id}/related/suggestions", headers=headers["editor"]
    )
    assert response.status_code == 200
    editor_slugs = {s["article"]["slug"] for s in response.get_json()["suggestions"]}
    assert draft.slug in editor_slugs
    public = client.get(f"/api/v1/articles/{walkout.slug}/related?limit=100").get_json()
    assert draft.slug not in {r["article"]["slug"] for r in public["related"] if r["article"]}


def test_publishing_makes_a_suggestion_visible_without_recomputation(client, cluster, headers):
    walkout, _, _, draft = cluster
    etag = client.get(f"/api/v1/editor/articles/{draft.id}", headers=headers["editor"]).headers[
        "ETag"
    ]
    published = client.post(
        f"/api/v1/editor/articles/{draft.id}/publish",
        headers={**headers["editor"], "If-Match": etag},
    )
    assert published.status_code == 200
    related = client.get(f"/api/v1/articles/{walkout.slug}/related?limit=100").get_json()
    assert draft.slug in {r["article"]["slug"] for r in related["related"] if r["article"]}


def test_editing_an_article_updates_the_suggestions_that_involve_it(client, cluster, headers):
    walkout, day_three, football, _ = cluster
    # Rewrite the football story into a port-strike story: it should now be suggested.
    etag = client.get(f"/api/v1/editor/articles/{football.id}", headers=headers["editor"]).headers[
        "ETag"
    ]
    response = client.patch(
        f"/api/v1/editor/articles/{football.id}",
        json={
            "title": "Port strike: Dockworkers' Union rejects Port Authority offer",
            "body": STRIKE_2,
            "tags": ["port"],
            "section": "news",
        },
        headers={**headers["editor"], "If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    related = client.get(f"/api/v1/articles/{walkout.slug}/related?limit=100").get_json()
    slugs = [r["article"]["slug"] for r in related["related"] if r["kind"] == "suggested"]
    assert football.slug in slugs


def test_suggestions_are_deterministic_and_respect_limit(client, cluster):
    walkout = cluster[0]
    first = client.get(f"/api/v1/articles/{walkout.slug}/related?limit=1").get_json()
    again = client.get(f"/api/v1/articles/{walkout.slug}/related?limit=1").get_json()
    assert first == again
    assert len(first["related"]) == 1
    assert client.get(f"/api/v1/articles/{walkout.slug}/related?limit=101").status_code == 400


def test_rebuild_command_recomputes_the_same_suggestions(app, client, cluster):
    walkout = cluster[0]
    before = client.get(f"/api/v1/articles/{walkout.slug}/related").get_json()
    result = app.test_cli_runner().invoke(args=["related", "rebuild"])
    assert result.exit_code == 0, result.output
    after = client.get(f"/api/v1/articles/{walkout.slug}/related").get_json()
    assert [r["article"]["slug"] for r in after["related"]] == [
        r["article"]["slug"] for r in before["related"]
    ]


def test_stored_lists_keep_only_the_best_suggestions(users, monkeypatch):
    import sqlalchemy as sa

    from cms.extensions import db
    from cms.models import Suggestion
    from cms.services import suggestions

    monkeypatch.setattr(suggestions, "STORED_PER_ARTICLE", 2)
    for i in range(5):
        make_article(
            f"Port strike day {i}: dockworkers and the Port Authority", body=STRIKE_2, tags=["port"]
        )
    rows = db.session.execute(
        sa.select(Suggestion.article_id, Suggestion.target_id, Suggestion.score)
    ).all()
    lists: dict[int, list[float]] = {}
    for article_id, target_id, score in rows:
        assert article_id != target_id
        lists.setdefault(article_id, []).append(score)
    assert len(lists) == 5
    assert all(len(scores) == 2 for scores in lists.values())
