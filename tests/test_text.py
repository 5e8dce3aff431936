"""One reading rate everywhere (``cms.text``): an article's minutes, a generated summary's
seconds and a stored summary's seconds, on the editor and the public API, agree."""

from __future__ import annotations

import pytest

from cms.text import language_key, reading_minutes, reading_seconds, rfc3339

EDITOR = "/api/v1/editor/articles"
TWELVE_WORDS = "Harbour workers approved the new contract after three days of talks Friday."


def test_a_twelve_word_draft_reads_the_same_everywhere(client, headers, users):
    editor = headers["editor"]
    assert len(TWELVE_WORDS.split()) == 12
    created = client.post(
        EDITOR,
        headers=editor,
        json={
            "title": "Contract approved",
            "body": [{"type": "paragraph", "text": TWELVE_WORDS}],
        },
    )
    assert created.status_code == 201, created.get_json()
    article = created.get_json()
    assert article["word_count"] == 12
    assert article["reading_time_minutes"] == 1

    # 12 words at 230 a minute: 3.13 s, rounded up
    generated = client.post(f"{EDITOR}/{article['id']}/summary/generate", headers=editor)
    assert generated.status_code == 200
    assert generated.get_json()["tldr"] == TWELVE_WORDS
    assert generated.get_json()["reading_time_seconds"] == 4

    stored_auto = client.get(f"{EDITOR}/{article['id']}/summary", headers=editor).get_json()
    assert stored_auto["tldr"] == TWELVE_WORDS
    assert stored_auto["reading_time_seconds"] == 4

    written = client.put(
        f"{EDITOR}/{article['id']}/summary",
        headers=editor,
        json={"tldr": TWELVE_WORDS, "key_points": []},
    )
    assert written.status_code == 200, written.get_json()
    assert written.get_json()["reading_time_seconds"] == 4

    etag = client.get(f"{EDITOR}/{article['id']}", headers=editor).headers["ETag"]
    published = client.post(
        f"{EDITOR}/{article['id']}/publish", headers={**editor, "If-Match": etag}
    )
    assert published.status_code == 200, published.get_json()
    slug = article["slug"]
    public = client.get(f"/api/v1/articles/{slug}/summary").get_json()
    assert public["reading_time_seconds"] == 4
    (item,) = client.get("/api/v1/articles?include=summary").get_json()["data"]
    assert item["summary"]["reading_time_seconds"] == 4
    assert item["reading_time_minutes"] == 1


@pytest.mark.parametrize(
    ("words", "seconds", "minutes"),
    [(0, 0, 0), (1, 1, 1), (12, 4, 1), (230, 60, 1), (231, 61, 2), (460, 120, 2)],
)
def test_reading_time_rounds_up_at_one_rate(words, seconds, minutes):
    assert reading_seconds(words) == seconds
    assert reading_minutes(words) == minutes


@pytest.mark.parametrize(
    ("tag", "key"),
    [(None, "en"), ("", "en"), ("de", "de"), ("de-CH", "de"), (" PT_br ", "pt"), ("-", "en")],
)
def test_language_key_is_the_primary_subtag(tag, key):
    assert language_key(tag) == key


def test_rfc3339_writes_utc_whole_seconds():
    from datetime import UTC, datetime

    assert rfc3339(datetime(2026, 11, 27, 9, 30, 5, 999_999, tzinfo=UTC)) == "2026-11-27T09:30:05Z"
    assert rfc3339(None) is None


def test_one_stop_word_table_per_language_everywhere():
    """The summarizer reads its language's table, related-article scoring both, and search a
    short part of them: a reader can still search for words like "Monday", "die" or "will"."""
    from cms.services.related import scoring as similarity
    from cms.services.search.query import QueryError, parse_query
    from cms.services.summaries import summarizer
    from cms.text import QUERY_STOP_WORDS, STOP_WORDS

    both = STOP_WORDS["en"] | STOP_WORDS["de"]
    assert QUERY_STOP_WORDS.issubset(both)
    sentence = "The minister said on Monday that the harbour would reopen"
    assert summarizer._tokens(sentence, "en") == ["minister", "harbour", "reopen"]
    assert summarizer._tokens("Die Ministerin sagte am Montag", "de") == ["ministeri"]  # stemmed
    both_languages = similarity.tokenize(f"{sentence}. Die Ministerin sagte")
    assert both_languages == ["minist", "harbour", "reopen", "ministerin"]
    # Words that tell stories apart stay terms for related articles, not for summaries.
    assert similarity.tokenize("The first new plant") == ["first", "new", "plant"]
    assert summarizer._tokens("The first new plant", "en") == ["plant"]
    with pytest.raises(QueryError):
        parse_query("the")
    for word in ("monday", "die", "war", "will", "statement"):
        assert word in both
        assert [atom.words for atom in parse_query(word).atoms] == [(word,)]
