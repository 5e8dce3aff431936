"""Suggested related articles through the public and editor APIs."""

from datetime import timedelta

import pytest

from cms.extensions import db
from tests.conftest import drain, make_article


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
def cluster(users, clock):
    now = clock.now
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
    result = app.test_cli_runner().invoke(args=["rebuild", "related"])
    assert result.exit_code == 0, result.output
    after = client.get(f"/api/v1/articles/{walkout.slug}/related").get_json()
    assert [r["article"]["slug"] for r in after["related"]] == [
        r["article"]["slug"] for r in before["related"]
    ]


def test_stored_lists_keep_only_the_best_suggestions(users, monkeypatch):
    import sqlalchemy as sa

    from cms.extensions import db
    from cms.models import Suggestion
    from cms.services.related import suggestions

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


# --- coverage: every article gets suggestions once a few others are public ----------------------

UNRELATED = [
    ("Bakery wins regional bread prize", "A family bakery baked the best rye loaf, judges ruled."),
    ("Goalkeeper joins Rovers from Norway", "The club signed a keeper to shore up its defence."),
    ("Museum opens on Friday evenings", "Visitors may now see the paintings until ten at night."),
    ("Storm fells trees along the coast", "Gales uprooted oaks and cut power to three villages."),
    ("Choir celebrates its centenary", "Singers marked one hundred years with a gala concert."),
    ("New cycle lane on the ring road", "Commuters on bikes get a protected lane from spring."),
]


def _publish(client, headers, title, text, **fields):
    created = client.post(
        "/api/v1/editor/articles",
        json={"title": title, "body": [_para(text)], **fields},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    article = created.get_json()
    published = client.post(
        f"/api/v1/editor/articles/{article['id']}/publish",
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    assert published.status_code == 200, published.get_json()
    return article


def _suggested(client, slug, limit=20):
    response = client.get(f"/api/v1/articles/{slug}/related?limit={limit}")
    assert response.status_code == 200
    related = response.get_json()["related"]
    return [r["article"]["slug"] for r in related if r["kind"] == "suggested"]


def test_every_article_gets_five_suggestions_once_five_others_are_public(client, headers, clock):
    """Stories with no word, tag or name in common still fill each other's lists."""
    published = [_publish(client, headers["editor"], title, text) for title, text in UNRELATED]
    drain(client.application)
    draft = client.post(
        "/api/v1/editor/articles",
        json={"title": "Draft about bread", "body": [_para("Rye bread and a bakery prize.")]},
        headers=headers["editor"],
    ).get_json()
    later = make_article(
        "Scheduled: bakery prize for rye bread",
        body=[_para("A bakery won the rye bread prize.")],
        status="scheduled",
        published_at=clock.now + timedelta(days=1),
    )
    archived = make_article(
        "Archived: goalkeeper joins Rovers",
        body=[_para("The club signed a keeper from Norway.")],
        status="archived",
    )
    hidden = {draft["slug"], later.slug, archived.slug}
    for article in published:
        slugs = _suggested(client, article["slug"])
        assert len(slugs) >= 5, (article["slug"], slugs)
        assert article["slug"] not in slugs
        assert not hidden & set(slugs)


def test_refresh_is_a_plain_function_of_the_article_id(client, headers):
    """What a background job calls: recompute one article's list and its offers by id."""
    import sqlalchemy as sa

    from cms.extensions import db
    from cms.models import Suggestion
    from cms.services.related import suggestions

    articles = [_publish(client, headers["editor"], title, text) for title, text in UNRELATED]
    drain(client.application)
    first = articles[0]
    expected = _suggested(client, first["slug"])
    db.session.execute(sa.delete(Suggestion).where(Suggestion.article_id == first["id"]))
    db.session.commit()
    assert _suggested(client, first["slug"]) == []
    ranked = suggestions.refresh_suggestions(first["id"])
    db.session.commit()
    assert len(ranked) == 5
    assert _suggested(client, first["slug"]) == expected
    assert suggestions.refresh_suggestions(10**9) is None


def test_an_article_with_fewer_than_five_public_others_lists_what_there_is(client, headers):
    first = _publish(client, headers["editor"], *UNRELATED[0])
    second = _publish(client, headers["editor"], *UNRELATED[1])
    # Both lists are complete at once: while their jobs wait, they are ranked when read.
    assert _suggested(client, second["slug"]) == [first["slug"]]
    assert _suggested(client, first["slug"]) == [second["slug"]]
    drain(client.application)
    assert _suggested(client, first["slug"]) == [second["slug"]]
    assert _suggested(client, second["slug"]) == [first["slug"]]


# --- the semantic backend (CMS_RELATED_BACKEND=semantic) ---------------------------------------

RATES = (
    "Central bank raises interest rates again",
    "The central bank lifted its key interest rate by a quarter point on Thursday to fight "
    "inflation across the city.",
)
# Same subject, not one word (stem) in common with RATES.
BORROWING = (
    "Borrowing costs climb as monetary policy tightens",
    "Lenders passed the higher cost of credit on to homebuyers after policymakers tightened "
    "monetary policy to tame soaring prices.",
)
# Share an ordinary word with RATES ("city", "quarter", "point", "Thursday"), not its subject.
NEAR_WORDS = [
    ("City marathon moves its finish", "The city marathon will finish in the old quarter."),
    ("Bakery wins the city bread award", "A bakery in the eastern quarter won the city prize."),
    ("Museum opens late across the city", "The city museum stays open until ten on Thursday."),
    ("Ferry timetable changes at the point", "Ferries to the point leave later from Thursday."),
]


@pytest.fixture
def semantic_app(app, monkeypatch):
    """A second app on the same database, configured from the environment like production."""
    from cms import create_app

    monkeypatch.setenv("CMS_RELATED_BACKEND", "semantic")
    overrides = {
        key: app.config[key]
        for key in (
            "CMS_ENV",
            "TESTING",
            "CMS_PASSWORD_HASH_PROFILE",
            "SECRET_KEY",
            "JWT_SECRET_KEY",
            "SQLALCHEMY_DATABASE_URI",
        )
    }
    semantic = create_app(overrides)
    assert semantic.config["CMS_RELATED_BACKEND"] == "semantic"
    with semantic.app_context():
        yield semantic
        from cms.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_semantic_backend_stores_embeddings_and_finds_a_pair_without_shared_words(
    app, semantic_app, headers
):
    import sqlalchemy as sa

    from cms.extensions import db
    from cms.models import ArticleEmbedding

    client = semantic_app.test_client()
    rates = _publish(client, headers["editor"], *RATES)
    for title, text in NEAR_WORDS:
        _publish(client, headers["editor"], title, text)
    borrowing = _publish(client, headers["editor"], *BORROWING)
    assert db.session.scalars(sa.select(ArticleEmbedding)).all() == []  # the worker embeds
    drain(semantic_app)

    rows = db.session.execute(sa.select(ArticleEmbedding)).scalars().all()
    assert len(rows) == 6
    assert {row.dim for row in rows} == {384}
    assert all(len(row.vector) == 384 * 4 for row in rows)

    related = client.get(f"/api/v1/articles/{rates['slug']}/related").get_json()["related"]
    assert related[0]["article"]["slug"] == borrowing["slug"]
    assert related[0]["reason"] == "similar subject"
    assert _suggested(client, borrowing["slug"])[0] == rates["slug"]

    # Rebuilding with the semantic backend keeps the stored embeddings and the ranking.
    result = semantic_app.test_cli_runner().invoke(args=["rebuild", "related"])
    assert result.exit_code == 0, result.output
    assert _suggested(client, rates["slug"])[0] == borrowing["slug"]

    # The same articles ranked by the default lexical backend: the pair is not found first.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["rebuild", "related"])
        assert result.exit_code == 0, result.output
        assert _suggested(app.test_client(), rates["slug"])[0] != borrowing["slug"]


def test_semantic_backend_reembeds_only_when_the_text_changes(semantic_app, headers):
    from cms.extensions import db
    from cms.models import ArticleEmbedding

    client = semantic_app.test_client()
    rates = _publish(client, headers["editor"], *RATES)
    drain(semantic_app)
    before = db.session.get(ArticleEmbedding, rates["id"])
    fingerprint, vector = before.fingerprint, before.vector
    db.session.expire_all()

    def patch(body):
        etag = client.get(
            f"/api/v1/editor/articles/{rates['id']}", headers=headers["editor"]
        ).headers["ETag"]
        response = client.patch(
            f"/api/v1/editor/articles/{rates['id']}",
            json=body,
            headers={**headers["editor"], "If-Match": etag},
        )
        assert response.status_code == 200, response.get_json()
        drain(semantic_app)
        db.session.expire_all()
        return db.session.get(ArticleEmbedding, rates["id"])

    assert patch({"tags": ["energy"]}).vector == vector  # not embedded text
    after = patch({"title": "Central bank raises interest rates for a fifth time"})
    assert after.fingerprint != fingerprint
    assert after.vector != vector


def test_semantic_backend_without_its_runtime_refuses_to_start(monkeypatch, tmp_path):
    from cms import create_app
    from cms.config import ConfigError
    from cms.services.related import embeddings

    monkeypatch.setenv("CMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CMS_RELATED_BACKEND", "semantic")
    monkeypatch.setattr(embeddings, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="semantic"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/cms.db"})


def test_a_german_article_finds_the_english_report_of_the_same_event(client, headers):
    """Short untagged copy in two languages meets on its figures and names: "4,35 Meter" is
    "4.35 metres", "1.200" is "1,200". A same-town story with the same names comes after."""
    for title, text in UNRELATED:
        _publish(client, headers["editor"], title, text)
    flood = _publish(
        client,
        headers["editor"],
        "River Tarne floods Halvern",
        "The river Tarne rose to 4.35 metres at Halvern on Sunday. Police closed the old bridge "
        "and about 1,200 residents of Ostmoor left their homes for the night.",
    )
    fair = _publish(
        client,
        headers["editor"],
        "Halvern fair returns to the Tarne meadows",
        "The autumn fair is back on the Tarne meadows in Halvern, with rides for children and "
        "stalls from Ostmoor. Organisers expect a large crowd on Sunday.",
    )
    german = _publish(
        client,
        headers["editor"],
        "Hochwasser an der Tarne",
        "Die Tarne ist bei Halvern auf 4,35 Meter gestiegen. Die Polizei sperrte die alte "
        "Brücke, rund 1.200 Bewohner von Ostmoor verbrachten die Nacht außer Haus.",
        language="de",
    )
    drain(client.application)
    from_german = _suggested(client, german["slug"])
    assert from_german[0] == flood["slug"], from_german
    assert from_german.index(fair["slug"]) > 0
    assert _suggested(client, flood["slug"])[0] == german["slug"]


def test_a_list_ranked_while_its_job_waits_shows_readers_only_public_articles(client, headers):
    """Before the worker stored a new article's list, reading it ranks it on the spot: readers
    get the public candidates only, editors every status (as from a stored list)."""
    first = _publish(
        client, headers["editor"], "Dockworkers strike at Westerhaven", STRIKE[0]["text"]
    )
    draft = client.post(
        "/api/v1/editor/articles",
        json={"title": "Draft: port strike widens", "body": [_para(STRIKE_2[0]["text"])]},
        headers=headers["editor"],
    ).get_json()
    second = _publish(client, headers["editor"], "Port strike enters third day", STRIKE[1]["text"])
    from cms.services.derived import jobs

    assert jobs.pending() == 3  # nothing stored yet
    public = _suggested(client, second["slug"])
    assert first["slug"] in public
    assert draft["slug"] not in public
    editors = client.get(
        f"/api/v1/editor/articles/{second['id']}/related/suggestions", headers=headers["editor"]
    ).get_json()["suggestions"]
    assert {s["article"]["slug"] for s in editors} >= {first["slug"], draft["slug"]}
    drain(client.application)
    assert _suggested(client, second["slug"]) == public


def test_suggestions_read_with_the_article_are_those_read_on_their_own(cluster, clock):
    """On PostgreSQL ``locate`` reads the stored suggestions in its own statement, for a
    ``related`` of the same limit; the answer is the one of the separate read (SQLite)."""
    import orjson

    from cms.schemas.articles.dumpers import related_data
    from cms.services.related import public as related_public

    postgres = db.engine.dialect.name == "postgresql"
    for article in cluster[:3]:
        for limit in (1, 2, 10):
            for scope in ("site", "section"):
                with_them = related_public.locate(article.slug, scope=scope, limit=limit)
                assert (with_them.suggested is not None) is postgres
                alone = related_public.locate(article.slug, scope=scope)
                assert alone.suggested is None
                assert with_them[:8] == alone[:8]
                answers = [
                    orjson.dumps(
                        related_data(related_public.related(found, limit=limit, scope=scope))
                    )
                    for found in (with_them, alone)
                ]
                assert answers[0] == answers[1]
                assert answers[0].count(b'"kind":"suggested"') == min(limit, 2), answers[0]
