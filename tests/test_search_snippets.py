"""Search snippets on PostgreSQL (``cms.services.search.snippets``), and a search whose index
says an article is listed when the article itself is not (a write that bypassed the session)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article
from cms.services.search import service as search_service
from cms.services.search.snippets import FRAGMENT_CHARS, FRAGMENT_WORDS, Snippets
from tests.conftest import make_article


def _snippet(cfg: str, lexemes: list[tuple[str, str]], text: str) -> str:
    """The snippet of ``text`` as the index keeps it (its whitespace made single spaces)."""
    return Snippets({cfg: lexemes}).render(cfg, " ".join(text.split()))


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


def test_every_word_of_a_query_is_marked_in_the_order_of_the_text():
    text = "Mail strike: the e-mail said the rail bridge and the railway bridges shut. Mails."
    lexemes = [("rail", ""), ("bridg", ""), ("mail", ""), ("e-mail", "")]
    snippet = _snippet("english", lexemes, text)
    assert snippet == (
        "<mark>Mail</mark> strike: the <mark>e-mail</mark> said the <mark>rail</mark> "
        "<mark>bridge</mark> and the railway <mark>bridges</mark> shut. <mark>Mails</mark>."
    )


def test_prefixes_mark_every_word_whose_stem_starts_with_them():
    snippet = _snippet("english", [("autom", ":*")], "Automation and automated lines; autumn.")
    assert "<mark>Automation</mark>" in snippet and "<mark>automated</mark>" in snippet
    assert "<mark>autumn" not in snippet


def test_escapes_everything_but_the_marks():
    snippet = _snippet("simple", [("ferries", "")], "R&D <script> ferries </script>")
    assert snippet == "R&amp;D &lt;script&gt; <mark>ferries</mark> &lt;/script&gt;"
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_characters_to_escape_outside_the_snippet_change_nothing_in_it():
    text = "The harbour reopened on Monday, with ferries at dawn. " + "Calm seas. " * 40
    snippet = _snippet("english", [("harbour", "")], text)
    assert snippet == _snippet("english", [("harbour", "")], text + "Q&A: <b>later</b> \ue000")
    assert snippet.startswith("The <mark>harbour</mark> reopened")
    # ...and inside it, they are escaped, the private-use ones as spaces
    escaped = _snippet("english", [("harbour", "")], "R&D at the harbour \ue000 <now>")
    assert escaped == "R&amp;D at the <mark>harbour</mark>   &lt;now&gt;"


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


def test_a_word_is_what_lies_between_spaces_and_a_fragment_has_a_length_bound():
    text = "Officials of the U.S. and the E.U. said on Tuesday (local time) the harbour was open"
    snippet = _snippet("english", [("harbour", "")], text)
    # five words before the hit, punctuation included
    assert snippet == "on Tuesday (local time) the <mark>harbour</mark> was open"
    unspaced = "港口码头" * 600  # one word of 2,400 characters
    assert _snippet("simple", [("港口", "")], unspaced) == unspaced[:FRAGMENT_CHARS]


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


@pytest.fixture
def small_window(monkeypatch):
    """A ranking window of 4 matches, walked over the 8 newest listed articles (a sample of 6):
    what each relevance search did, ``"walked"`` (its page came from the walk), ``"fell
    short"`` (the walk was tried) or ``"not tried"`` (the query's share is unknown or low)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the walked ranking is PostgreSQL's")
    monkeypatch.setattr(search_service, "RANK_WINDOW", 4)
    monkeypatch.setattr(search_service, "WALK_ROWS", 8)
    monkeypatch.setattr(search_service, "SAMPLE_ROWS", 6)
    monkeypatch.setattr(search_service, "_PG_SHARES", {})
    outcomes, tries = [], []
    walked, statement = search_service._PostgreSQL.walked, search_service._pg_walked_page

    def tried(*args):
        tries.append(args)
        return statement(*args)

    def spy(self, *args):
        before = len(tries)
        rows = walked(self, *args)
        outcomes.append(
            "walked" if rows is not None else "fell short" if len(tries) > before else "not tried"
        )
        return rows

    monkeypatch.setattr(search_service, "_pg_walked_page", tried)
    monkeypatch.setattr(search_service._PostgreSQL, "walked", spy)
    return outcomes


def _search_pages(client, q: str) -> list:
    """Every page of a relevance search with 2 hits per page: ids, scores, snippets."""
    pages, args = [], {"q": q, "limit": 2}
    while True:
        body = client.get("/api/v1/search", query_string=args).get_json()
        pages.append([(hit["id"], hit["score"], hit["snippet"]) for hit in body["data"]])
        if not body["meta"]["next_cursor"]:
            return pages
        args["cursor"] = body["meta"]["next_cursor"]


def test_a_common_word_is_ranked_by_one_walk_with_the_same_answers(
    client, users, ago, small_window, monkeypatch
):
    """When the window's matches are among the newest listed articles, one statement walks,
    ranks and reads the page; the answer is the one the window's ids would give."""
    for hours, title in enumerate(
        [
            "Harbour cranes idle",
            "Harbour pilots strike over harbour fees",
            "Rail freight rises",
            "Harbour harbour harbour: the week in shipping",
            "Harbour master named",
            "Ferry timetable changes at the harbour",
            "Harbour dredging delayed",
        ]
    ):
        make_article(title, published_at=ago(hours=hours + 1))
    client.get("/api/v1/search", query_string={"q": "harbour"})  # measures its share
    assert small_window == ["not tried"]
    walked_pages = _search_pages(client, "harbour")
    assert small_window[1:] == ["walked", "walked"]
    monkeypatch.setattr(search_service._PostgreSQL, "walked", lambda self, *args: None)
    assert _search_pages(client, "harbour") == walked_pages
    assert sum(len(page) for page in walked_pages) == 4  # the window: the 4 newest matches


def test_a_rare_word_or_a_hidden_hit_leaves_the_walk(client, users, ago, small_window):
    """Too few matches among the walked articles, or a page holding an article that is not
    visible: the window is found as before, and the draft is not a hit."""
    make_article("Glacier survey published", published_at=ago(hours=1))
    for hours in range(8):
        make_article(f"Budget vote number {hours}", published_at=ago(minutes=hours + 1))
    for limit in (5, 6):  # (two URLs: not an answer of the response cache)
        args = {"q": "glacier", "limit": limit}
        assert len(client.get("/api/v1/search", query_string=args).get_json()["data"]) == 1
    assert small_window == ["not tried", "not tried"]  # 1 of the newest: never walked
    titles = ["Kiln fire", "Kiln kiln rebuilt", "Kiln museum", "Kiln tour", "Kiln works"]
    made = [
        make_article(title, published_at=ago(seconds=5 * i + 1)) for i, title in enumerate(titles)
    ]
    client.get("/api/v1/search", query_string={"q": "kiln", "limit": 3})  # the newest: kilns
    best = made[1]
    db.session.execute(sa.update(Article).where(Article.id == best.id).values(status="draft"))
    db.session.commit()
    hits = client.get("/api/v1/search", query_string={"q": "kiln"}).get_json()["data"]
    # (the window is the index's 4 newest matches, the hidden one among them)
    found = sorted(hit["id"] for hit in hits)
    assert best.id not in found and len(found) == 3
    assert small_window[-2:] == ["not tried", "fell short"]
    for i in range(8):  # kilns are no longer among the newest: the walk falls short once
        make_article(f"Harbour report {i}", published_at=ago(seconds=i / 10))
    for limit in (5, 6):
        args = {"q": "kiln", "limit": limit}
        hits = client.get("/api/v1/search", query_string=args).get_json()["data"]
        assert sorted(hit["id"] for hit in hits) == found
    assert small_window[-2:] == ["fell short", "not tried"]
