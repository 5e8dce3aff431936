"""Properties of the block model, the renderer and slugs, over generated input (hypothesis).

- any valid block list round-trips: what the API stores and returns is exactly what the
  sanitizer makes of it, and sanitizing that again changes nothing;
- any string in any text field renders to ``body_html`` without script, event handlers,
  ``javascript:``/``data:`` URLs or unbalanced markup;
- a slug derived from any Unicode title is valid, and titles never collide into one slug;
- a search snippet cut from any excerpt is escaped text with balanced ``<mark>`` elements
  around hits only, in at most two fragments of the excerpt.

Example counts are bounded so that the suite stays fast; runs are derandomized.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.schemas.articles.editor import ArticleIn
from cms.schemas.common import SLUG_RE
from cms.services.content import rendering
from cms.services.content.slugs import MAX_SLUG, slug_from_title
from cms.services.search import snippets

ARTICLES = "/api/v1/editor/articles"
SOURCES = {"handelsblatt": "Handelsblatt", "reuters": "Reuters"}

FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None)
THROUGH_API = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies --------------------------------------------------------------------------------

# Pieces that exercise the sanitizer much more often than uniformly random text would.
FRAGMENTS = [
    "<", ">", "</", "/>", "<!--", "-->", "<![CDATA[", "]]>", "&", ";", "&lt;", "&gt;", "&amp;",
    "&#", "&#x", "&#106;", "&#x3A;", '"', "'", "`", "=", " ", "\t", "\n", "\x00", "\u2028",
    "<b>", "</b>", "<strong>", "<i>", "</i>", "<em>", "</em>", "<a href=", "</a>", "<p>", "</p>",
    "<script>", "</script>", "<SCRIPT", "<img src=x", " onerror=", " onclick=", "onload=",
    "javascript:", "JaVaScRiPt:", "java\tscript:", "data:text/html,", "vbscript:", "mailto:x@y",
    "https://ok.example/", "<svg", "<iframe", "<style>", "<math>", "<h2>", "<li>", "<ul>",
    "alert(1)", "ä", "ß", "東京", "🙂", "\u202e", "\ufeff",
]


def _texts(fragments):
    pieces = st.one_of(st.sampled_from(fragments), st.text(max_size=12))
    if "\x00" not in fragments:  # NUL is refused as input (422): valid texts have none
        pieces = pieces.map(lambda s: s.replace("\x00", ""))
    return st.lists(pieces, max_size=25).map("".join)


def _block(kind: str, **fields):
    attribution = st.one_of(
        st.none(), st.sampled_from(sorted(SOURCES)).map(lambda s: {"source": s})
    )
    return st.fixed_dictionaries({"type": st.just(kind), "attribution": attribution, **fields})


def _blocks(fragments):
    wild = _texts(fragments)
    text = wild.filter(lambda s: 0 < len(s) <= 20_000)  # block texts are 1 .. 20,000 chars
    optional = st.one_of(st.none(), wild.map(lambda s: s[:2000]))
    url = st.sampled_from(
        ["https://img.example/a.jpg", "http://video.example/v/1?x=1&y=2", "https://e.example/ä"]
    )
    return st.lists(
        st.one_of(
            _block("paragraph", text=text),
            _block("heading", text=text, level=st.integers(2, 6)),
            _block("quote", text=text, cite=optional),
            _block("list", ordered=st.booleans(), items=st.lists(text, min_size=1, max_size=4)),
            _block("image", url=url, alt=wild.map(lambda s: s[:2000]), caption=optional,
                   credit=optional),
            _block("embed", url=url, title=optional, caption=optional),
        ),
        max_size=6,
    )


wild_text = _texts(FRAGMENTS)
blocks = _blocks(FRAGMENTS)  # for the renderer itself: NUL included
valid_blocks = _blocks([f for f in FRAGMENTS if f != "\x00"])  # what the API accepts

# --- what "inert and balanced" means -----------------------------------------------------------

VOID = {"img", "br", "hr"}
URL_ATTRIBUTES = {"href", "src"}


class _Markup(HTMLParser):
    """Start and end tags as a browser sees them (character references decoded)."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, str, list]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.events.append(("startend", tag, attrs))

    def handle_endtag(self, tag):
        self.events.append(("end", tag, []))


def assert_safe_and_balanced(markup: str) -> None:
    assert not re.search(r"<\s*script", markup, re.I), markup
    stack: list[str] = []
    for event, tag, attrs in _Markup(markup).events:
        assert tag not in {"script", "style", "iframe", "object", "embed", "svg", "math"}, markup
        for name, value in attrs:
            assert not name.startswith("on"), (name, markup)
            assert name != "style", markup
            if name in URL_ATTRIBUTES:
                # browsers ignore blanks and control characters inside a scheme
                squashed = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert not squashed.startswith(("javascript:", "data:", "vbscript:")), value
                scheme = re.match(r"^([a-z][a-z0-9+.-]*):", squashed)  # none: a relative URL
                assert scheme is None or scheme.group(1) in {"http", "https", "mailto"}, value
        if event == "start" and tag not in VOID:
            stack.append(tag)
        elif event == "end":
            assert stack and stack[-1] == tag, (tag, stack, markup)
            stack.pop()
    assert not stack, (stack, markup)


def _loaded(body: list[dict]) -> list[dict]:
    """The blocks as the API's input schema hands them to the service."""
    return ArticleIn().load({"title": "Generated", "body": body})["body"]


# --- the renderer, directly ----------------------------------------------------------------------


@FAST
@given(body=blocks)
def test_any_text_in_any_field_renders_inert_balanced_html(body):
    rendered = rendering.render_body(_loaded(body), SOURCES)

    assert_safe_and_balanced(rendered.html)
    # Plain text holds no markup: each "<" in it is one a writer typed as text, which the
    # HTML shows escaped (a writer may well type "&lt;b&gt;" and mean it).
    assert rendered.text.count("<") <= rendered.html.count("&lt;")


@FAST
@given(body=blocks)
def test_sanitizing_is_idempotent(body):
    once = rendering.normalize_blocks(_loaded(body))

    assert rendering.normalize_blocks(once) == once
    assert rendering.render_html(once, SOURCES) == rendering.render_html(
        rendering.normalize_blocks(once), SOURCES
    )


@FAST
@given(text=wild_text)
def test_inline_and_plain_cleaning_are_idempotent(text):
    inline = rendering.clean_inline(text)
    plain = rendering.to_plain(text)

    assert rendering.clean_inline(inline) == inline
    assert rendering.to_plain(plain) == plain
    assert_safe_and_balanced(inline)


# --- through the API -----------------------------------------------------------------------------


@THROUGH_API
@given(body=valid_blocks)
def test_any_valid_block_list_round_trips_through_the_api(client, headers, body):
    created = client.post(ARTICLES, json={"title": "Generated body", "body": body},
                          headers=headers["editor"])
    assert created.status_code == 201, created.get_json()
    expected = rendering.normalize_blocks(_loaded(body))

    read = client.get(f"{ARTICLES}/{created.get_json()['id']}", headers=headers["editor"])
    article = read.get_json()
    assert article["body"] == expected
    assert article["body_html"] == rendering.render_html(expected, SOURCES)
    assert_safe_and_balanced(article["body_html"])

    # What was read back can be sent again unchanged whenever it is still valid input.
    if all(_resendable(block) for block in expected):
        again = client.patch(f"{ARTICLES}/{article['id']}", json={"body": expected},
                             headers={**headers["editor"], "If-Match": read.headers["ETag"]})
        assert again.status_code == 200, again.get_json()
        assert again.get_json()["body"] == expected


def _resendable(block: dict) -> bool:
    texts = block.get("items") or ([block["text"]] if "text" in block else [])
    return all(texts)


# --- slugs ---------------------------------------------------------------------------------------


@FAST
@given(title=st.text(min_size=1, max_size=600))
def test_a_slug_from_any_unicode_title_is_valid(title):
    slug = slug_from_title(title)

    assert SLUG_RE.fullmatch(slug), (title, slug)
    assert len(slug) <= MAX_SLUG


@THROUGH_API
@given(titles=st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=4))
def test_slugs_of_created_articles_are_valid_and_unique(client, headers, titles):
    slugs = []
    for title in [*titles, titles[0]]:  # the same title twice, at least
        response = client.post(ARTICLES, json={"title": title}, headers=headers["editor"])
        if response.status_code == 422:  # e.g. a title that is only markup or blank
            assert set(response.get_json()["errors"]) == {"title"}
            continue
        assert response.status_code == 201, response.get_json()
        slugs.append(response.get_json()["slug"])
    for slug in slugs:
        assert SLUG_RE.fullmatch(slug) and len(slug) <= MAX_SLUG, slug
    existing = [a["slug"] for a in client.get(f"{ARTICLES}?limit=100",
                                              headers=headers["editor"]).get_json()["data"]]
    assert len(existing) == len(set(existing))


@pytest.mark.parametrize("title", ["ÄÖÜ äöü ß", "東京 2026", "🙂🙂", "---", "a" * 500])
def test_slugs_of_awkward_titles(title):
    slug = slug_from_title(title)
    assert SLUG_RE.fullmatch(slug) and len(slug) <= MAX_SLUG


_HARBOUR = snippets.Snippets({"english": [("harbour", "")], "simple": [("東京", "")]})


@FAST
@given(pieces=st.lists(st.one_of(wild_text, st.sampled_from(["harbour", "Harbours", "東京"]))))
def test_a_snippet_of_any_excerpt_is_escaped_text_with_marked_hits(pieces):
    excerpt = " ".join(" ".join(pieces).replace("…", "...").split())  # as the index keeps it
    for cfg in ("english", "simple", "german"):  # (german: no lexemes, the excerpt's start)
        snippet = _HARBOUR.render(cfg, excerpt)
        plain = snippet.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in plain and ">" not in plain
        assert snippet.count("<mark>") == snippet.count("</mark>")
        assert "<mark></mark>" not in snippet and "<mark><mark>" not in snippet
        fragments = _unescape(plain).split(" … ") if plain else []
        assert len(fragments) <= snippets.FRAGMENTS
        for fragment in fragments:
            assert fragment in excerpt.replace("\ue000", " ").replace("\ue001", " ")
            assert len(fragment) <= snippets.FRAGMENT_CHARS
            assert len(fragment.split(" ")) <= snippets.FRAGMENT_WORDS
        for marked in re.findall("<mark>(.*?)</mark>", snippet):
            word = _unescape(marked).lower()  # (a hit the fragment's end cuts is marked in part)
            assert any(word.startswith(hit) or hit.startswith(word) for hit in ("harbour", "東京"))


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
