"""Stored article cards (table ``article_cards``): list pages show exactly what building each
card would show, and a card follows every change of what it shows (article, section, tags,
authors, sources)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import StoredCard
from cms.services.public import cards as card_store
from cms.services.workflow import publishing
from tests.conftest import make_article

LIST = "/api/v1/articles"
EDITOR = "/api/v1/editor"


@pytest.fixture(autouse=True)
def _no_response_cache(app, monkeypatch):
    monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)


def _cards(client, query: str = "") -> list[dict]:
    response = client.get(LIST + query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def _stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(StoredCard))


def _built_without_store(client) -> list[dict]:
    """What the list shows when no card is stored (every card built from the rows)."""
    db.session.execute(sa.delete(StoredCard))
    db.session.commit()
    return _cards(client)


def test_a_saved_article_has_its_card_stored_and_listed(client, users):
    make_article(
        "Harbour strike ends",
        tags=["energy", "port"],
        authors=["ana-writer"],
        sources=["reuters", "handelsblatt"],
    )
    assert _stored() == 1
    stored = _cards(client)
    assert stored[0]["title"] == "Harbour strike ends"
    assert [t["slug"] for t in stored[0]["tags"]] == ["energy", "port"]
    assert stored == _built_without_store(client)


def test_missing_or_outdated_cards_are_built_on_the_fly(client, users):
    first = make_article("One")
    make_article("Two")
    expected = _cards(client)
    db.session.execute(sa.delete(StoredCard).where(StoredCard.article_id == first.id))
    db.session.execute(
        sa.update(StoredCard).values(
            article_version=StoredCard.article_version - 1, card='{"stale": true}'
        )
    )
    db.session.commit()
    assert _cards(client) == expected
    assert card_store.rebuild_all(only_missing=True) == 2
    db.session.commit()
    assert _cards(client) == expected


def test_an_edit_shows_in_the_list_at_once(client, users, headers):
    article = make_article("Before")
    etag = client.get(f"{EDITOR}/articles/{article.id}", headers=headers["editor"]).headers["ETag"]
    response = client.patch(
        f"{EDITOR}/articles/{article.id}",
        json={"title": "After", "tags": ["port"], "authors": ["ed-itor"]},
        headers={**headers["editor"], "If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    card = _cards(client)[0]
    assert card["title"] == "After"
    assert [t["slug"] for t in card["tags"]] == ["port"]
    assert [a["slug"] for a in card["authors"]] == ["ed-itor"]


@pytest.mark.parametrize(
    ("kind", "slug", "change", "where"),
    [
        ("sections", "news", {"name": "World news"}, lambda c: c["section"]["name"]),
        ("tags", "energy", {"name": "Power"}, lambda c: c["tags"][0]["name"]),
        ("authors", "ana-writer", {"name": "Ana Writer-Lee"}, lambda c: c["authors"][0]["name"]),
        (
            "sources",
            "reuters",
            {"url": "https://reuters.example"},
            lambda c: next(s["url"] for s in c["sources"] if s["slug"] == "reuters"),
        ),
    ],
)
def test_renaming_a_taxonomy_entry_updates_its_articles_cards(
    client, users, headers, kind, slug, change, where
):
    for i in range(3):
        make_article(f"Story {i}", tags=["energy"], authors=["ana-writer"], sources=["reuters"])
    make_article("Unrelated", section="sport", tags=["port"], sources=["handelsblatt"])
    response = client.patch(f"{EDITOR}/{kind}/{slug}", json=change, headers=headers["admin"])
    assert response.status_code == 200, response.get_json()
    cards = [c for c in _cards(client) if c["title"].startswith("Story")]
    assert len(cards) == 3
    assert {where(card) for card in cards} == set(change.values())


def test_renaming_the_slug_of_a_tag_updates_cards(client, users, headers):
    make_article("Story", tags=["energy"])
    response = client.patch(
        f"{EDITOR}/tags/energy", json={"slug": "power"}, headers=headers["admin"]
    )
    assert response.status_code == 200, response.get_json()
    assert [t["slug"] for t in _cards(client)[0]["tags"]] == ["power"]


def test_deleting_a_tag_removes_it_from_cards(client, users, headers):
    make_article("Story", tags=["energy", "port"])
    response = client.delete(f"{EDITOR}/tags/energy", headers=headers["admin"])
    assert response.status_code == 204
    assert [t["slug"] for t in _cards(client)[0]["tags"]] == ["port"]


def test_a_rename_touching_many_articles_drops_older_cards_and_stays_correct(
    client, users, headers, monkeypatch
):
    monkeypatch.setattr(card_store, "TAXONOMY_REBUILD_LIMIT", 2)
    for i in range(5):
        make_article(f"Story {i}", tags=["energy"])
    assert _stored() == 5
    response = client.patch(
        f"{EDITOR}/tags/energy", json={"name": "Power"}, headers=headers["admin"]
    )
    assert response.status_code == 200
    assert _stored() == 2  # the two newest were rebuilt, the others are built on demand
    assert {c["tags"][0]["name"] for c in _cards(client)} == {"Power"}


def test_drafts_never_appear_and_their_card_is_stored_when_published(client, users):
    draft = make_article("Secret draft", status="draft")
    make_article("Public")
    # No reader is shown a draft's card: it is not stored until the article is listed.
    assert _stored() == 1
    assert [c["title"] for c in _cards(client)] == ["Public"]
    publishing.perform(draft, "publish", actor=users["editor"], expected_version=draft.version)
    db.session.commit()
    assert _stored() == 2
    stored = _cards(client)
    assert [c["title"] for c in stored] == ["Secret draft", "Public"]
    assert stored == _built_without_store(client)


def test_rebuild_command_stores_every_card(app, users):
    make_article("One")
    make_article("Two")
    db.session.execute(sa.delete(StoredCard))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rebuild", "cards"])
    assert result.exit_code == 0, result.output
    assert "Stored 2 article cards" in result.output
    assert _stored() == 2


def test_detail_is_the_same_with_and_without_a_stored_card(client, users):
    make_article("Older")
    article = make_article(
        "Harbour strike ends", tags=["energy", "port"], authors=["ana-writer"], sources=["reuters"]
    )
    make_article("Newer")
    path = f"{LIST}/{article.slug}"
    with_card = client.get(path)
    assert with_card.status_code == 200
    for formats in ("", "?formats=html", "?formats=text,blocks"):
        assert client.get(path + formats).get_json() is not None
    db.session.execute(sa.delete(StoredCard))
    db.session.commit()
    without = client.get(path)
    assert with_card.get_json() == without.get_json()
    assert with_card.get_json()["previous"]["title"] == "Older"
    assert with_card.get_json()["next"]["title"] == "Newer"
    assert [t["slug"] for t in with_card.get_json()["tags"]] == ["energy", "port"]
