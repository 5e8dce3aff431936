"""``flask --app wsgi rebuild``: one command rebuilds what saves keep current, named by the
registry (``cms.services.derived.registry``), and the public API shows the repaired data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Section, StoredCard, Suggestion, Tag
from cms.services.derived import registry
from cms.services.search import index as search_index
from tests.conftest import make_article


@pytest.fixture(autouse=True)
def _no_response_cache(app, monkeypatch):
    monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)


def _lose_everything_derived() -> None:
    """What a bulk SQL load or a bad upgrade leaves: rows written, nothing derived."""
    db.session.execute(sa.text(f"DELETE FROM {search_index.INDEX_TABLE}"))
    db.session.execute(sa.delete(StoredCard))
    db.session.execute(sa.delete(Suggestion))
    db.session.execute(sa.update(Tag).values(listed_count=0))
    db.session.execute(sa.update(Section).values(listed_count=0))
    db.session.commit()


def _public_view(client) -> dict:
    tags = client.get("/api/v1/tags").get_json()["data"]
    found = client.get("/api/v1/search?q=ferry").get_json()["data"]
    listed = client.get("/api/v1/articles").get_json()["data"]
    related = client.get("/api/v1/articles/ferry-strike-ends/related").get_json()["related"]
    return {
        "tag counts": {t["slug"]: t["article_count"] for t in tags},
        "search": sorted(hit["slug"] for hit in found),
        "list": [a["slug"] for a in listed],
        "related": [r["article"]["slug"] for r in related],
    }


def _body(text: str) -> list[dict]:
    return [{"type": "paragraph", "text": text}]


def _newsroom():
    make_article("Ferry strike ends", body=_body("The ferry crews accepted the pay offer."))
    make_article("Ferry timetable returns", body=_body("Ferry sailings resume on Monday."))
    make_article("Budget vote delayed", tags=["port"], body=_body("The council votes next week."))
    make_article("Unpublished ferry plan", status="draft", body=_body("Ferry secrets."))


def test_rebuild_all_restores_what_the_public_saw(app, client, users):
    _newsroom()
    before = _public_view(client)
    assert before["search"] == ["ferry-strike-ends", "ferry-timetable-returns"]
    assert before["tag counts"]["energy"] == 2
    assert before["related"]

    _lose_everything_derived()
    broken = _public_view(client)
    assert broken["search"] == [] and broken["tag counts"]["energy"] == 0
    assert broken["related"] == []

    result = app.test_cli_runner().invoke(args=["rebuild", "all"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Indexed 4 articles for search.",
        "Recounted the articles of every section, tag, author and source.",
        "Stored 4 article cards.",
        "Recomputed suggestions for 4 articles.",
    ]
    assert _public_view(client) == before


def test_rebuild_names_only_what_it_is_asked(app, client, users):
    _newsroom()
    _lose_everything_derived()
    result = app.test_cli_runner().invoke(args=["rebuild", "search", "counts"])
    assert result.exit_code == 0, result.output
    view = _public_view(client)
    assert view["search"] == ["ferry-strike-ends", "ferry-timetable-returns"]
    assert view["tag counts"]["energy"] == 2
    assert view["related"] == []  # not asked for


def test_rebuild_refuses_unknown_names_and_a_missing_flag_it_cannot_honour(app, users):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rebuild", "cards", "serach"])
    assert result.exit_code == 2
    assert "serach" in result.output and "search, counts, cards, related" in result.output
    result = runner.invoke(args=["rebuild", "search", "--missing"])
    assert result.exit_code == 2
    assert "--missing applies to cards only" in result.output
    result = runner.invoke(args=["rebuild"])
    assert result.exit_code == 2


def test_the_registry_lists_each_derived_datum_once_in_install_order():
    names = [entry.name for entry in registry.DERIVED]
    assert names == ["search", "counts", "cards", "related", "events"]
    assert registry.REBUILDABLE == ("search", "counts", "cards", "related")
