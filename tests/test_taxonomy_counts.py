"""Taxonomy counts and tag/author/source filters, as the public sees them, after every write.

Counts are kept on write and corrected at read time for articles still to come; filtered lists
read copies of each article's listing on its link rows. Every test checks what the public
endpoints answer, and compares all counts with a plain COUNT over ``public_condition()``.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from cms.clock import utcnow
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    Section,
    Source,
    Tag,
    article_tags,
)
from cms.services.content import articles as article_service
from cms.services.content import taxonomy as taxonomy_service
from cms.services.public import counts as taxonomy_counts
from cms.services.visibility import PUBLIC_STATUSES, public_condition
from cms.services.workflow import publishing
from cms.text import rfc3339
from tests.conftest import make_article

API = "/api/v1/editor/articles"
KINDS = ("sections", "tags", "authors", "sources")


def public_counts(client) -> dict[str, dict[str, int]]:
    """``{kind: {slug: article_count}}`` from the public lists, checked against each item."""
    seen = {}
    for kind in KINDS:
        body = client.get(f"/api/v1/{kind}?limit=100").get_json()
        seen[kind] = {item["slug"]: item["article_count"] for item in body["data"]}
        for slug, n in seen[kind].items():
            assert client.get(f"/api/v1/{kind}/{slug}").get_json()["article_count"] == n
    return seen


def expected_counts() -> dict[str, dict[str, int]]:
    """What a COUNT over ``public_condition()`` gives, the way counts were once computed."""
    db.session.expire_all()
    visible = public_condition(utcnow())
    links = {
        "sections": (Section, Article.section_id),
        "tags": (Tag, article_tags.c.tag_id),
        "authors": (Author, ArticleAuthor.author_id),
        "sources": (Source, ArticleSource.source_id),
    }
    result = {}
    for kind, (model, column) in links.items():
        query = sa.select(model.slug, sa.func.count(Article.id)).select_from(model)
        if kind == "sections":
            query = query.outerjoin(Article, sa.and_(column == model.id, visible))
        else:
            link = column.table
            query = query.outerjoin(link, column == model.id).outerjoin(
                Article, sa.and_(Article.id == link.c.article_id, visible)
            )
        result[kind] = dict(db.session.execute(query.group_by(model.slug)).all())
    return result


def assert_counts(client, **expected: dict[str, int]) -> dict:
    seen = public_counts(client)
    assert seen == expected_counts()
    for kind, counts in expected.items():
        for slug, n in counts.items():
            assert seen[kind][slug] == n, (kind, slug, seen[kind][slug], n)
    return seen


def _etag(client, article_id: int, headers: dict) -> str:
    return client.get(f"{API}/{article_id}", headers=headers).headers["ETag"]


def act(client, article_id: int, action: str, headers: dict, body: dict | None = None):
    response = client.post(
        f"{API}/{article_id}/{action}",
        json=body,
        headers={**headers, "If-Match": _etag(client, article_id, headers)},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def patch(client, article_id: int, payload: dict, headers: dict):
    response = client.patch(
        f"{API}/{article_id}",
        json=payload,
        headers={**headers, "If-Match": _etag(client, article_id, headers)},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def create(client, headers: dict, **fields) -> int:
    data = {
        "title": "Port story",
        "section": "news",
        "tags": ["energy"],
        "authors": ["ana-writer"],
        "sources": ["handelsblatt"],
        **fields,
    }
    response = client.post(API, json=data, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_draft_or_article_in_review_is_never_counted(client, users, headers):
    article_id = create(client, headers["editor"])
    assert_counts(
        client,
        sections={"news": 0},
        tags={"energy": 0},
        authors={"ana-writer": 0},
        sources={"handelsblatt": 0},
    )
    act(client, article_id, "submit", headers["editor"])
    assert_counts(client, sections={"news": 0}, tags={"energy": 0})


def test_counts_follow_every_workflow_action(client, users, headers, clock):
    article_id = create(client, headers["editor"])
    one = {"sections": {"news": 1}, "tags": {"energy": 1}, "authors": {"ana-writer": 1}}
    none = {"sections": {"news": 0}, "tags": {"energy": 0}, "authors": {"ana-writer": 0}}

    act(client, article_id, "publish", headers["editor"])
    assert_counts(client, **one)
    act(client, article_id, "unpublish", headers["editor"])
    assert_counts(client, **none)
    act(client, article_id, "publish", headers["editor"])
    act(client, article_id, "archive", headers["editor"])
    assert_counts(client, **none)
    act(client, article_id, "restore-draft", headers["editor"])
    assert_counts(client, **none)
    act(client, article_id, "submit", headers["editor"])
    act(client, article_id, "publish", headers["editor"])
    assert_counts(client, **one)


def test_a_scheduled_article_is_counted_when_its_time_comes(client, users, headers, clock):
    article_id = create(client, headers["editor"], tags=["energy", "port"])
    when = clock.now + timedelta(hours=2)
    act(client, article_id, "publish", headers["editor"], {"publish_at": rfc3339(when)})
    assert_counts(client, sections={"news": 0}, tags={"energy": 0, "port": 0})

    clock.advance(hours=1, minutes=59)
    assert_counts(client, sections={"news": 0}, tags={"port": 0})
    clock.advance(minutes=1)  # published_at == now: visible
    assert_counts(client, sections={"news": 1}, tags={"energy": 1, "port": 1})

    # Rescheduled into the future again: out of the counts until then.
    later = clock.now + timedelta(days=1)
    act(client, article_id, "unpublish", headers["editor"])
    act(client, article_id, "publish", headers["editor"], {"publish_at": rfc3339(later)})
    assert_counts(client, sections={"news": 0}, tags={"port": 0})
    # Unpublishing a scheduled article keeps it out even after its time.
    act(client, article_id, "unpublish", headers["editor"])
    clock.advance(days=2)
    assert_counts(client, sections={"news": 0}, tags={"port": 0})


def test_counts_follow_edits_of_section_tags_authors_and_sources(client, users, headers):
    article_id = create(client, headers["editor"], tags=["energy", "port"])
    act(client, article_id, "publish", headers["editor"])
    make_article("Another energy story", tags=["energy"], section="sport")
    assert_counts(client, sections={"news": 1, "sport": 1}, tags={"energy": 2, "port": 1})

    patch(client, article_id, {"section": "sport"}, headers["editor"])
    assert_counts(client, sections={"news": 0, "sport": 2})
    patch(client, article_id, {"section": None}, headers["editor"])
    assert_counts(client, sections={"news": 0, "sport": 1})
    patch(client, article_id, {"tags": ["port", "secret-merger"]}, headers["editor"])
    assert_counts(client, tags={"energy": 1, "port": 1, "secret-merger": 1})
    patch(client, article_id, {"authors": ["ed-itor", "ana-writer"]}, headers["editor"])
    assert_counts(client, authors={"ed-itor": 1, "ana-writer": 1})
    patch(client, article_id, {"authors": ["ed-itor"]}, headers["editor"])
    assert_counts(client, authors={"ana-writer": 0})
    # The other article cites both sources. A source listed by the editor and one only cited
    # by a block count alike.
    patch(client, article_id, {"sources": ["reuters"]}, headers["editor"])
    assert_counts(client, sources={"reuters": 2, "handelsblatt": 1})
    body = [{"type": "paragraph", "text": "Plain.", "attribution": {"source": "handelsblatt"}}]
    patch(client, article_id, {"body": body, "sources": []}, headers["editor"])
    assert_counts(client, sources={"reuters": 1, "handelsblatt": 2})


def test_counts_follow_deletes_of_articles_and_taxonomies(client, users, headers):
    first = create(client, headers["editor"], tags=["energy", "port"])
    act(client, first, "publish", headers["editor"])
    make_article("Second port story", tags=["port"])
    assert_counts(client, tags={"energy": 1, "port": 2}, sections={"news": 2})

    response = client.delete(f"{API}/{first}", headers=headers["editor"])
    assert response.status_code == 204, response.get_json()
    assert_counts(client, tags={"energy": 0, "port": 1}, sections={"news": 1})

    for kind, slug in (("tags", "port"), ("authors", "ana-writer")):
        response = client.delete(f"/api/v1/editor/{kind}/{slug}", headers=headers["editor"])
        assert response.status_code == 204, response.get_json()
        assert client.get(f"/api/v1/{kind}/{slug}").status_code == 404
    assert_counts(client, sections={"news": 1}, sources={"handelsblatt": 1})
    # A taxonomy created afterwards starts from zero.
    client.post("/api/v1/editor/tags", json={"name": "Port"}, headers=headers["editor"])
    assert_counts(client, tags={"port": 0})


def test_restoring_a_revision_moves_the_counts(client, users, headers):
    article_id = create(client, headers["editor"], tags=["energy"])
    act(client, article_id, "publish", headers["editor"])
    patch(client, article_id, {"tags": ["port"], "section": "sport"}, headers["editor"])
    assert_counts(client, tags={"energy": 0, "port": 1}, sections={"sport": 1})
    revisions = client.get(f"{API}/{article_id}/revisions", headers=headers["editor"])
    if revisions.status_code != 200:
        pytest.skip("no revisions endpoint")
    first = revisions.get_json()["data"][-1]["number"]
    response = client.post(
        f"{API}/{article_id}/revisions/{first}/restore",
        headers={**headers["editor"], "If-Match": _etag(client, article_id, headers["editor"])},
    )
    assert response.status_code == 200, response.get_json()
    assert_counts(client, tags={"energy": 1, "port": 0}, sections={"news": 1, "sport": 0})


def test_random_writes_keep_counts_and_link_copies_exact(users, clock):
    """Many services calls in random order; after each, counts equal a COUNT over visibility."""
    rng = random.Random(7)
    tags = ["energy", "port", "secret-merger"]
    authors = ["ana-writer", "ed-itor"]
    editor = users["editor"]
    made = []
    for step in range(60):
        choice = rng.random()
        if choice < 0.25 or not made:
            fields = {
                "section": rng.choice(["news", "sport", None]),
                "tags": rng.sample(tags, rng.randint(0, 3)),
                "authors": rng.sample(authors, rng.randint(1, 2)),
            }
            status = rng.choice(["draft", "published", "scheduled", "archived", "in_review"])
            when = clock.now + timedelta(hours=rng.randint(1, 5))
            if status != "scheduled":
                when = clock.now - timedelta(hours=rng.randint(1, 50))
            made.append(make_article(f"Story {step}", status=status, published_at=when, **fields))
            continue
        article = db.session.get(Article, rng.choice(made).id)
        if article is None:
            continue
        if choice < 0.5:
            data = rng.choice(
                [
                    {"tags": rng.sample(tags, rng.randint(0, 3))},
                    {"section": rng.choice(["news", "sport", None])},
                    {"authors": rng.sample(authors, rng.randint(1, 2))},
                ]
            )
            article_service.update_article(
                article, data, actor=editor, expected_version=article.version
            )
        elif choice < 0.8:
            allowed = publishing.allowed_actions(article)
            if allowed:
                name = rng.choice(allowed)
                publish_at = None
                if name == "publish" and rng.random() < 0.5:
                    publish_at = clock.now + timedelta(minutes=rng.randint(1, 120))
                publishing.perform(
                    article,
                    name,
                    actor=editor,
                    expected_version=article.version,
                    publish_at=publish_at,
                )
        elif choice < 0.9:
            article_service.delete_article(article, actor=editor)
        else:
            clock.advance(minutes=rng.randint(1, 90))
        db.session.commit()
        _assert_consistent()
    # And a full recount agrees with what was kept on write.
    kept = _stored()
    taxonomy_counts.recount(db.session.connection())
    assert _stored() == kept


def _stored():
    db.session.expire_all()
    rows = {
        kind: dict(db.session.execute(sa.select(m.id, m.listed_count)).all())
        for kind, m in (
            ("sections", Section),
            ("tags", Tag),
            ("authors", Author),
            ("sources", Source),
        )
    }
    for link in taxonomy_counts.LINK_TABLES:
        rows[link.name] = sorted(
            db.session.execute(sa.select(link.c[0], link.c[1], link.c.listed_at)).all()
        )
    return rows


def _assert_consistent():
    from cms.services.public import taxonomies

    expected = expected_counts()
    for kind in KINDS:
        page = taxonomies.list_taxonomy(kind, limit=100)
        assert {obj.slug: obj.article_count for obj in page.items} == expected[kind], kind
    for link in taxonomy_counts.LINK_TABLES:
        wrong = db.session.execute(
            sa.select(link.c.article_id)
            .join(Article, Article.id == link.c.article_id)
            .where(
                sa.case(
                    (Article.status.in_(PUBLIC_STATUSES), Article.published_at), else_=None
                ).is_distinct_from(link.c.listed_at)
            )
        ).all()
        assert wrong == [], link.name


# --- filtered lists ---------------------------------------------------------------------------


def _walk(client, query: str, limit: int = 2) -> list[str]:
    """Every slug of a filtered list, page by page through the cursors."""
    slugs, cursor = [], None
    for _ in range(50):
        url = f"/api/v1/articles?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        slugs += [item["slug"] for item in body["data"]]
        cursor = body["meta"].get("next_cursor")
        if not cursor:
            return slugs
    raise AssertionError("too many pages")


@pytest.fixture
def tagged(users, clock):
    """Published articles with ties on published_at, plus hidden ones carrying the same tags."""
    base = clock.now - timedelta(days=3)
    made = {}
    for i in range(9):
        when = base + timedelta(hours=i // 2)  # pairs share a published_at
        made[f"p{i}"] = make_article(
            f"Energy story {i}",
            published_at=when,
            tags=["energy"] if i % 3 else ["energy", "port"],
            authors=["ana-writer"] if i % 2 else ["ed-itor"],
            sources=["reuters"] if i < 4 else ["handelsblatt"],
        )
    for status in ("draft", "in_review", "archived"):
        made[status] = make_article(f"{status} energy story", status=status, tags=["energy"])
    made["later"] = make_article(
        "Scheduled energy story",
        status="scheduled",
        published_at=clock.now + timedelta(hours=1),
        tags=["energy", "port"],
        authors=["ed-itor"],
    )
    return made


def _expected(made: dict, keep) -> list[str]:
    now = utcnow()
    visible = [a for a in made.values() if a.status in PUBLIC_STATUSES and a.published_at <= now]
    visible = [a for a in visible if keep(a)]
    visible.sort(key=lambda a: (a.published_at, a.id), reverse=True)
    return [a.slug for a in visible]


def _has(kind: str, slug: str):
    def keep(article):
        db.session.refresh(article)
        names = {
            "tag": [t.slug for t in article.tags],
            "author": [a.slug for a in article.authors],
            "source": [s.slug for s in article.sources],
        }[kind]
        return slug in names

    return keep


@pytest.mark.parametrize(
    "kind, slug",
    [("tag", "energy"), ("tag", "port"), ("author", "ed-itor"), ("source", "reuters")],
)
def test_filtered_lists_return_exactly_the_visible_articles_in_order(client, tagged, kind, slug):
    expected = _expected(tagged, _has(kind, slug))
    assert expected  # the test means something
    assert _walk(client, f"{kind}={slug}") == expected
    assert _walk(client, f"{kind}={slug}", limit=1) == expected
    total = client.get(f"/api/v1/articles?{kind}={slug}&count=true").get_json()["meta"]["total"]
    assert total == len(expected)


def test_filters_combine_with_each_other_and_with_dates(client, tagged):
    both = _expected(tagged, lambda a: _has("tag", "port")(a) and _has("author", "ed-itor")(a))
    assert _walk(client, "tag=port&author=ed-itor") == both
    cut = tagged["p5"].published_at
    before = _expected(tagged, lambda a: _has("tag", "energy")(a) and a.published_at < cut)
    assert _walk(client, f"tag=energy&published_before={rfc3339(cut)}") == before
    assert _walk(client, "tag=energy&section=sport") == []


def test_filtered_list_follows_scheduling_and_republishing(client, tagged, headers, clock):
    later = tagged["later"]
    assert later.slug not in _walk(client, "tag=port")
    clock.advance(hours=1)
    assert _walk(client, "tag=port")[0] == later.slug
    # Unpublished, it leaves the list; published again now, it is the newest.
    old = tagged["p0"]
    act(client, old.id, "unpublish", headers["editor"])
    assert old.slug not in _walk(client, "tag=port")
    clock.advance(minutes=5)
    act(client, old.id, "publish", headers["editor"])
    assert _walk(client, "tag=port") == _expected(tagged, _has("tag", "port"))
    assert _walk(client, "tag=port")[0] == old.slug
    # A tag added to a published article puts it into that tag's list at its place.
    patch(client, tagged["p1"].id, {"tags": ["energy", "port"]}, headers["editor"])
    assert _walk(client, "tag=port") == _expected(tagged, _has("tag", "port"))
    assert tagged["p1"].slug in _walk(client, "tag=port")


def test_taxonomy_service_delete_of_a_tag_keeps_other_counts(users):
    article = make_article("Two tags", tags=["energy", "port"])
    tag = taxonomy_service.get("tags", "port")
    taxonomy_service.delete("tags", tag, actor=users["admin"])
    db.session.commit()
    _assert_consistent()
    assert db.session.get(Article, article.id) is not None


def test_recount_command_repairs_counts_after_bulk_sql(app, client, users):
    make_article("One", tags=["energy"])
    make_article("Two", tags=["energy", "port"])
    db.session.execute(sa.update(Tag).values(listed_count=99))  # a bulk write past the hooks
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rebuild", "counts"])
    assert result.exit_code == 0, result.output
    counts = {t["slug"]: t["article_count"] for t in client.get("/api/v1/tags").get_json()["data"]}
    assert counts["energy"] == 2
    assert counts["port"] == 1
