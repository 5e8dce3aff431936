"""Bounded queries: no public endpoint issues more SQL statements for more items (no N+1).

Each endpoint is asked once with few related rows and once with many; both must issue the
same number of statements. The response cache is switched off so every request reads.
"""

from __future__ import annotations

import pytest

from cms.extensions import db
from cms.models import Tag
from cms.services.related import curation
from tests.conftest import make_article, recorded_statements


@pytest.fixture
def count_statements(app, monkeypatch):
    monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)

    def count(client, path: str) -> int:
        with recorded_statements() as statements:
            response = client.get(path)
        assert response.status_code == 200, (path, response.get_json())
        return len(statements)

    return count


@pytest.fixture
def rich(users):
    """``rich(title, **fields)``: an article with ten tags, two authors, two sources, a summary."""
    extra = [f"extra-{i}" for i in range(8)]
    for slug in extra:
        db.session.add(Tag(slug=slug, name=slug.title()))
    db.session.commit()

    def make(title: str, **fields):
        return make_article(
            title,
            tags=["energy", "port", *extra],
            authors=["ana-writer", "ed-itor"],
            sources=["handelsblatt", "reuters"],
            author=users["editor"],
            **fields,
        )

    return make


def _first_slug(client, kind: str) -> str:
    return client.get(f"/api/v1/{kind}?limit=1").get_json()["data"][0]["slug"]


def test_list_of_one_and_list_of_a_hundred_issue_the_same_statements(
    client, users, rich, count_statements, ago
):
    make_article("Plain story", published_at=ago(hours=200))
    one = count_statements(client, "/api/v1/articles?limit=1")
    for i in range(100):
        rich(f"Rich story {i}", published_at=ago(hours=100 - i))

    assert count_statements(client, "/api/v1/articles?limit=100") == one
    assert count_statements(client, "/api/v1/articles?limit=1") == one


def test_list_filters_and_cursor_pages_do_not_grow(client, users, rich, count_statements, ago):
    for i in range(30):
        rich(f"Rich story {i}", published_at=ago(hours=40 - i))
    small = count_statements(client, "/api/v1/articles?tag=energy&limit=2")
    big = count_statements(client, "/api/v1/articles?tag=energy&limit=25")
    first = client.get("/api/v1/articles?limit=5").get_json()["meta"]["next_cursor"]

    assert big == small
    assert count_statements(client, f"/api/v1/articles?limit=20&cursor={first}") == (
        count_statements(client, f"/api/v1/articles?limit=1&cursor={first}")
    )


def test_detail_summary_and_related_do_not_grow_with_related_rows(
    client, users, rich, count_statements, ago
):
    plain = make_article("Plain story", published_at=ago(hours=50), tags=["energy"])
    targets = [rich(f"Target {i}", published_at=ago(hours=40 - i)) for i in range(12)]
    loaded = rich("Loaded story", published_at=ago(hours=60))

    def link(target):
        return {"article_id": target.id, "title": None, "label": None, "url": None}

    external = {"article_id": None, "url": "https://example.org/a", "title": "Elsewhere",
                "label": "Background"}
    curation.set_links(plain, [link(targets[0])], actor=users["editor"])
    curation.set_links(loaded, [*map(link, targets[1:]), external], actor=users["editor"])
    db.session.commit()

    for suffix in ("", "/summary", "/related?limit=50", "/related?limit=50&scope=section"):
        few = count_statements(client, f"/api/v1/articles/{plain.slug}{suffix}")
        many = count_statements(client, f"/api/v1/articles/{loaded.slug}{suffix}")
        assert many == few, suffix
    few = client.get(f"/api/v1/articles/{plain.slug}/related?limit=50").get_json()["related"]
    many = client.get(f"/api/v1/articles/{loaded.slug}/related?limit=50").get_json()["related"]
    assert [i["kind"] for i in few].count("curated") == 1
    assert [i["kind"] for i in many].count("curated") == 12
    assert {item["kind"] for item in few} == {item["kind"] for item in many} == {
        "curated",
        "suggested",
    }


def test_taxonomy_lists_do_not_grow_with_entries_or_articles(
    client, users, rich, count_statements, ago
):
    make_article("Plain story")
    small = {
        kind: count_statements(client, f"/api/v1/{kind}?limit=1")
        for kind in ("sections", "tags", "authors", "sources")
    }
    for i in range(20):
        rich(f"Rich story {i}", published_at=ago(hours=30 - i))

    for kind, n in small.items():
        assert count_statements(client, f"/api/v1/{kind}?limit=100") == n, kind
        assert count_statements(client, f"/api/v1/{kind}/{_first_slug(client, kind)}") <= n
