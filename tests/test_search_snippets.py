"""Search snippets on PostgreSQL (``cms.services.search.snippets``), and a search whose index
says an article is listed when the article itself is not (a write that bypassed the session)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article
from cms.services.search.snippets import FRAGMENT_WORDS, Snippets
from tests.conftest import make_article


def _snippet(cfg: str, lexemes: list[tuple[str, str]], text: str) -> str:
    return Snippets({cfg: lexemes}).render(cfg, text)


def test_marks_the_inflected_forms_the_stemmer_matches():
    text = "The railways were closed. A rail strike, then RAILS everywhere; railing off."
    snippet = _snippet("english", [("rail", "")], text)
    assert snippet.count("<mark>") == 3
    assert "<mark>RAILS</mark>" in snippet and "<mark>rail</mark>" in snippet
    assert "<mark>railways</mark>" not in snippet  # stem "railway"


def test_german_stems_fold_umlauts_and_sharp_s():
    text = "Die Häuser an der Straße wurden verkauft, und das Haus blieb leer."
    snippet = _snippet("german", [("haus", ""), ("strass", "")], text)
    assert "<mark>Häuser</mark>" in snippet
    assert "<mark>Straße</mark>" in snippet
    assert "<mark>Haus</mark>" in snippet


def test_prefixes_mark_every_word_whose_stem_starts_with_them():
    snippet = _snippet("english", [("autom", ":*")], "Automation and automated lines; autumn.")
    assert "<mark>Automation</mark>" in snippet and "<mark>automated</mark>" in snippet
    assert "<mark>autumn" not in snippet


def test_escapes_everything_but_the_marks():
    snippet = _snippet("simple", [("ferries", "")], "R&D <script> ferries </script>")
    assert snippet == "R&amp;D &lt;script&gt; <mark>ferries</mark> &lt;/script&gt;"
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_shows_where_the_text_matches_in_at_most_two_fragments():
    filler = " ".join(f"word{i}" for i in range(200))
    text = f"Opening line. {filler} the harbour opened. {filler} harbour again. {filler} harbour."
    snippet = _snippet("english", [("harbour", "")], text)
    fragments = snippet.split(" … ")
    assert len(fragments) == 2
    assert all("<mark>harbour</mark>" in fragment for fragment in fragments)
    assert all(len(fragment.split()) <= FRAGMENT_WORDS for fragment in fragments)
    assert not snippet.startswith("Opening")


def test_without_a_hit_in_the_text_it_is_the_start():
    snippet = _snippet("english", [("harbour", "")], "Calm seas today. " * 30)
    assert snippet.startswith("Calm seas today.") and "<mark>" not in snippet
    assert len(snippet.split()) == FRAGMENT_WORDS
    assert _snippet("english", [], "Calm seas.") == "Calm seas."
    assert _snippet("english", [("sea", "")], "") == ""


def test_a_draft_the_index_still_lists_is_never_a_hit(client, users, ago):
    """A bulk ``UPDATE`` that bypasses the session leaves the article listed in the index:
    relevance ranks the window without reading the articles, checks the page's, and ranks
    again among the visible ones when one of them is not."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the index-only ranking is PostgreSQL's")
    best = make_article("Lighthouse lighthouse lighthouse", body=[], published_at=ago(hours=2))
    other = make_article("Lighthouse keeper retires", published_at=ago(hours=1))
    db.session.execute(sa.update(Article).where(Article.id == best.id).values(status="draft"))
    db.session.commit()
    hits = client.get("/api/v1/search", query_string={"q": "lighthouse"}).get_json()["data"]
    assert [hit["id"] for hit in hits] == [other.id]
