"""The public read path builds its JSON by hand (cms/schemas/articles/dumpers.py)
and reads cards as rows; these tests pin that it gives exactly what the marshmallow schemas,
which document the API, give for the ORM objects: for a hand-made story, and as a property of
generated articles (hypothesis)."""

from __future__ import annotations

import json
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cms.extensions import db
from cms.models import Article
from cms.schemas.articles.dumpers import card_data, detail_data, related_data, summary_data
from cms.schemas.articles.editor import ArticleIn
from cms.schemas.articles.public import (
    CARD_FIELDS,
    ArticleCard,
    ArticleDetail,
    RelatedOut,
    SummaryOut,
)
from cms.schemas.search import SearchHit
from cms.services.public import reading
from cms.services.related import curation
from cms.services.related import public as public_related
from cms.services.search import service as search
from cms.services.search.query import parse_query
from cms.text import rfc3339
from tests.conftest import make_article
from tests.test_properties import valid_blocks


def _same(a, b) -> None:
    """Equal as JSON (what a client receives), key order included."""
    assert orjson.dumps(a) == orjson.dumps(b)


@pytest.fixture
def story(users, clock):
    older = make_article("Older story", published_at=clock.now - timedelta(hours=5))
    article = make_article(
        "Port handles record volume",
        subtitle="Busiest year yet",
        tags=["energy", "port"],
        authors=["ed-itor", "ana-writer"],
        sources=["reuters"],
        hero_image={"url": "https://img.example.org/a.jpg", "alt": "Cranes", "caption": None,
                    "credit": "Agency"},
        canonical_url="https://example.org/original",
        published_at=clock.now - timedelta(hours=3),
        author=users["editor"],
    )
    newer = make_article("Newer story", published_at=clock.now - timedelta(hours=1),
                         section=None)
    curation.set_links(
        article,
        [{"article_id": older.id, "title": None, "label": "Earlier", "url": None},
         {"article_id": None, "url": "https://example.org/b", "title": "Background",
          "label": None}],
        actor=users["editor"],
    )
    db.session.commit()
    return article, older, newer


def _with_orm_articles(view):
    """The related view with each linked article as its ORM object, which the schema dumps
    (the service gives suggested articles as their stored card JSON)."""
    for item in view.related:
        if item["article"] is not None:
            item["article"] = db.session.get(Article, item["article"].id)
    return view


def test_cards_match_the_schema(client, story):
    listed = client.get("/api/v1/articles?limit=10").get_json()["data"]
    db.session.expire_all()
    for item in listed:
        article = db.session.get(Article, item["id"])
        _same(item, ArticleCard().dump(article))
        _same(card_data(article), ArticleCard().dump(article))


def test_sparse_fieldsets_match_the_schema(client, story):
    listed = client.get("/api/v1/articles?fields=slug,tags,links").get_json()["data"]
    article = db.session.scalar(sa.select(Article).where(Article.slug == listed[0]["slug"]))
    _same(listed[0], ArticleCard(only=["slug", "tags", "links"]).dump(article))


@pytest.mark.parametrize("formats", [None, "html", "blocks,text"])
def test_detail_matches_the_schema(client, story, formats):
    article = story[0]
    query = f"?formats={formats}" if formats else ""
    shown = client.get(f"/api/v1/articles/{article.slug}{query}").get_json()
    chosen = tuple(formats.split(",")) if formats else ("blocks", "html", "text")
    excluded = [f for k, f in (("blocks", "body"), ("html", "body_html"), ("text", "body_text"))
                if k not in chosen]
    expected = ArticleDetail(exclude=excluded).dump(reading.article_page(article))
    _same(shown, expected)
    _same(detail_data(reading.article_page(article), chosen), expected)
    assert shown["previous"]["slug"] == "older-story"
    assert shown["next"]["slug"] == "newer-story"


def test_summary_and_related_match_the_schemas(client, story):
    article = story[0]
    summary = client.get(f"/api/v1/articles/{article.slug}/summary").get_json()
    _same(summary, SummaryOut().dump(db.session.get(Article, article.id).summary))

    related = client.get(f"/api/v1/articles/{article.slug}/related?limit=5").get_json()
    view = public_related.related(db.session.get(Article, article.id), limit=5)
    _same(related, RelatedOut().dump(_with_orm_articles(view)))
    assert [i["kind"] for i in related["related"][:2]] == ["curated", "curated"]
    assert related["related"][1]["url"] == "https://example.org/b"


def test_search_hits_match_the_schema(client, story):
    found = client.get("/api/v1/search?q=port").get_json()["data"]
    assert found
    page = search.search(parse_query("port"), {}, limit=20)
    articles = {a.id: a for a in db.session.scalars(sa.select(Article))}
    _same(found, SearchHit(many=True).dump([_Hit(articles[h.id], h) for h in page.items]))


class _Hit:
    """A hit as the schema reads it: the article's attributes, the hit's score, snippet and
    whether it has every word."""

    def __init__(self, article, hit):
        self._article, self.score, self.snippet = article, hit.score, hit.snippet
        self.all_words = hit.all_words

    def __getattr__(self, name):
        return getattr(self._article, name)


def test_neighbours_skip_invisible_articles_and_break_ties_by_id(client, users, clock):
    when = clock.now - timedelta(hours=2)
    first = make_article("Tie one", published_at=when)
    second = make_article("Tie two", published_at=when)
    make_article("Not yet", status="scheduled", published_at=clock.now + timedelta(hours=2))
    make_article("Draft", status="draft")

    shown = client.get(f"/api/v1/articles/{first.slug}").get_json()
    assert shown["previous"] is None
    assert shown["next"]["slug"] == second.slug
    shown = client.get(f"/api/v1/articles/{second.slug}").get_json()
    assert shown["previous"]["slug"] == first.slug
    assert shown["next"] is None
    assert shown["published_at"] == rfc3339(when)


# --- the same, for generated articles (hypothesis) ---------------------------------------------

WORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30
)
LETTERED = st.tuples(st.sampled_from(["Port", "Hafen", "Ödön", "東京", "A"]), WORDS).map(" ".join)
URLS = st.sampled_from(
    ["https://img.example/a.jpg", "http://video.example/v/1?x=1&y=2", "https://e.example/ä"]
)
ARTICLE_FIELDS = st.fixed_dictionaries(
    {
        "title": LETTERED,
        "subtitle": st.one_of(st.just(""), WORDS),
        "section": st.sampled_from([None, "news", "sport"]),
        "tags": st.lists(st.sampled_from(["energy", "port", "secret-merger"]), unique=True),
        "authors": st.lists(st.sampled_from(["ana-writer", "ed-itor"]), unique=True),
        "sources": st.lists(st.sampled_from(["handelsblatt", "reuters"]), unique=True),
        "language": st.sampled_from(["en", "de", "de-CH", "fr"]),
        "hero_image": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"url": URLS},
                optional={
                    "alt": WORDS,
                    "caption": st.one_of(st.none(), WORDS),
                    "credit": st.one_of(st.none(), WORDS),
                },
            ),
        ),
        "canonical_url": st.one_of(st.none(), URLS),
        "excerpt": st.one_of(st.none(), LETTERED),
        "body": valid_blocks,
    }
)
EDITOR_SUMMARY = st.one_of(
    st.none(),  # the generated summary stays
    st.fixed_dictionaries(
        {
            "tldr": LETTERED,
            "key_points": st.lists(
                st.fixed_dictionaries(
                    {"text": LETTERED, "block_index": st.one_of(st.none(), st.integers(0, 7))}
                ),
                max_size=3,
            ),
        }
    ),
)
CORRECTIONS = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["correction", "clarification"]),
            "text": LETTERED,
            "block_index": st.one_of(st.none(), st.integers(0, 7)),
        }
    ),
    max_size=2,
)
DETAIL_FORMATS = st.lists(st.sampled_from(["blocks", "html", "text"]), min_size=1, unique=True)


def _written(items: list[dict]) -> set[int]:
    """Statuses a write may answer: 422 too where a block index may point past the body."""
    return {200, 201, 422} if any(i["block_index"] is not None for i in items) else {200, 201}


def _card_json(article) -> bytes:
    return orjson.dumps(ArticleCard().dump(article))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No shrinking: each example adds to the database the later ones see (as in test_fuzz)
    phases=[Phase.explicit, Phase.generate],
)
@given(
    fields=ARTICLE_FIELDS,
    age=st.integers(1, 10**10),  # microseconds before now: the API shows whole seconds
    summary=EDITOR_SUMMARY,
    corrections=CORRECTIONS,
    links=st.lists(st.integers(0, 30), max_size=3, unique=True),
    formats=DETAIL_FORMATS,
    only=st.lists(st.sampled_from(CARD_FIELDS), min_size=1, unique=True),
)
def test_hand_written_output_equals_the_schemas_for_generated_articles(
    client, users, headers, clock, fields, age, summary, corrections, links, formats, only
):
    """Cards (built and stored), sparse cards, detail in any formats, summary and related links
    of any valid article: the fast path's JSON is byte for byte the schemas' JSON."""
    editor = headers["editor"]
    loaded = ArticleIn().load(fields)
    earlier = db.session.scalars(sa.select(Article.id).order_by(Article.id)).all()
    article = make_article(
        status="published",
        published_at=clock.now - timedelta(microseconds=age),
        author=users["editor"],
        **loaded,
    )
    base = f"/api/v1/editor/articles/{article.id}"
    if summary is not None:
        written = client.put(f"{base}/summary", json=summary, headers=editor)
        assert written.status_code in _written(summary["key_points"]), written.get_json()
    for correction in corrections:
        added = client.post(f"{base}/corrections", json=correction, headers=editor)
        assert added.status_code in _written([correction]), added.get_json()
    chosen = [earlier[i] for i in links if i < len(earlier)]
    if chosen:
        curation.set_links(
            article,
            [{"article_id": i, "title": None, "label": None, "url": None} for i in chosen]
            + [{"article_id": None, "url": "https://example.org/b", "title": "Background",
                "label": "More"}],
            actor=users["editor"],
        )
        db.session.commit()
    db.session.expire_all()
    article = db.session.get(Article, article.id)

    # cards: built by hand, stored as JSON, listed with a sparse fieldset or with summaries
    assert orjson.dumps(card_data(article)) == _card_json(article)
    listed = client.get("/api/v1/articles?limit=100").get_json()["data"]
    assert len(listed) == len(earlier) + 1
    for item in listed:
        assert orjson.dumps(item) == _card_json(db.session.get(Article, item["id"]))
    sparse = client.get(f"/api/v1/articles?limit=100&fields={','.join(only)}").get_json()["data"]
    only = [name for name in CARD_FIELDS if name in only]  # the schema's order, as documented
    assert len(sparse) == len(listed)
    for item, full in zip(sparse, listed, strict=True):
        shown = ArticleCard(only=only).dump(db.session.get(Article, full["id"]))
        assert orjson.dumps(item) == orjson.dumps(shown)

    # the summary, alone and in the list
    public_summary = client.get(f"/api/v1/articles/{article.slug}/summary")
    if article.summary is None:
        assert public_summary.status_code == 404
        expected_summary = None
    else:
        expected_summary = SummaryOut().dump(article.summary)
        _same(public_summary.get_json(), expected_summary)
        _same(summary_data(article.summary), expected_summary)
    with_summaries = client.get("/api/v1/articles?limit=100&include=summary").get_json()["data"]
    (item,) = [item for item in with_summaries if item["id"] == article.id]
    _same(item, {**ArticleCard().dump(article), "summary": expected_summary})

    # the detail page, in the formats asked for
    shown = client.get(f"/api/v1/articles/{article.slug}?formats={','.join(formats)}").get_json()
    view = reading.article_page(article)
    excluded = [f for k, f in (("blocks", "body"), ("html", "body_html"), ("text", "body_text"))
                if k not in formats]
    expected = ArticleDetail(exclude=excluded).dump(view)
    _same(shown, expected)
    _same(detail_data(view, tuple(formats)), expected)

    # related: curated links first, then suggestions
    related = client.get(f"/api/v1/articles/{article.slug}/related?limit=5").get_json()
    view = public_related.related(article, limit=5)
    hand_written = related_data(view)
    expected = RelatedOut().dump(_with_orm_articles(view))
    _same(related, expected)
    _same(hand_written, expected)


def test_json_columns_read_what_the_standard_library_reads(client):
    """JSON columns are read with orjson (``config.engine_options``): for the values the
    application writes, the same Python values as the standard library's json reads from the
    text the database returns (types included: 1e16 comes back from PostgreSQL as an integer)."""
    written = {
        "text": 'Grüße, "quoted" \\ back\nslash \u2028 東京 😀 <b>&amp;</b>',
        "numbers": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 1.5, -0.0, 1e-7, 1e16, 0.1, 3.0],
        "nested": [{"none": None, "yes": True, "no": False, "empty": [], "": {}}],
    }
    value = sa.literal(written, Article.body.type)
    read, text = db.session.execute(sa.select(value, sa.cast(value, sa.Text))).one()
    assert orjson.dumps(read) == orjson.dumps(json.loads(text))
