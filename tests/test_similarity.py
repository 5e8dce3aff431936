"""Unit tests of the pure related-articles scoring module (no app fixtures)."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cms.services.related.scoring import (
    ArticleFeatures,
    candidate_keys,
    df_keys,
    extract_entities,
    extract_features,
    make_idf,
    number_key,
    rank,
    score,
    tokenize,
)

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def feats(
    title,
    text,
    *,
    subtitle="",
    tags=(),
    section="business",
    sources=("Courier",),
    authors=("A. Writer",),
    days=0.0,
    language="en",
) -> ArticleFeatures:
    return extract_features(
        title=title,
        subtitle=subtitle,
        text=text,
        tags=list(tags),
        section=section,
        sources=list(sources),
        authors=list(authors),
        published_at=T0 + timedelta(days=days),
        language=language,
    )


STRIKE_1 = feats(
    "Dockworkers walk out at Marlow Bay over pay",
    "Container terminals at the Port of Marlow Bay stopped on Monday as dockworkers began a "
    "strike over pay. The Marlow Dockworkers' Union rejected the offer from the Port Authority. "
    "Union organiser Amara Okafor said crane operators had not had a real rise in four years. "
    "Ships were diverted and freight forwarders warned of delays to imported goods.",
    tags=["strikes", "ports"],
)
STRIKE_2 = feats(
    "Marlow Bay strike enters second week as ships queue",
    "Eleven container ships were anchored off Marlow Bay as the dockworkers' strike entered its "
    "second week. The Port Authority says thousands of containers wait to be unloaded. Amara "
    "Okafor of the Marlow Dockworkers' Union said strike pay would keep members out.",
    tags=["strikes", "ports", "supply chain"],
    days=7,
)
# Shares common words ("strike", "record", "week", "workers") but is about something else.
NEAR_MISS = feats(
    "Lightning strike sets church roof on fire in record storm",
    "A lightning strike during a record storm set fire to the roof of St Aldric's church in "
    "Lower Fenby on Monday. Fire crews worked for three hours and saved the bell tower. The vicar, "
    "Alan Marsh, said the workers restoring the roof had finished only last week.",
    tags=["fire", "weather"],
    days=1,
)
UNRELATED = feats(
    "Museum opens late on Fridays",
    "The Harwick Museum of Art will stay open until 10pm every Friday with music and talks in "
    "the sculpture court, director Claire Ondaatje said.",
    tags=["museums"],
    section="culture",
    days=30,
)
ALL = [STRIKE_1, STRIKE_2, NEAR_MISS, UNRELATED]


def idf_for(items):
    df: Counter[str] = Counter()
    for f in items:
        df.update(df_keys(f))
    return make_idf(df, len(items))


IDF = idf_for(ALL)


def test_tokenize_stems_lowercases_and_drops_stop_words():
    toks = tokenize("The Dockworkers are striking, said the union's organisers.")
    assert "the" not in toks and "said" not in toks
    assert "dockwork" in toks and "strike" in toks and "union" in toks
    assert all(t == t.lower() for t in toks)
    assert tokenize("Die Preise", "de") == tokenize("der Preis", "de") == ["preis"]


def test_title_weighted_above_body():
    f = feats("Harbour", "A harbour. A harbour.")
    g = feats("Quay", "A harbour. A harbour.")
    assert f.terms["harbour"] > g.terms["harbour"]


def test_entities_are_names_not_sentence_starts():
    ents = extract_entities(
        "Dockworkers walked out. The Port Authority said Mayor Leon Brandt urged talks. "
        "Strike action continued in Harwick, officials said. Okafor, of the Marlow Dockworkers' "
        "Union, led Amara Okafor's team. The ECB watched."
    )
    lowered = [e.lower() for e in ents]
    assert "port authority" in lowered
    assert "leon brandt" in lowered  # honorific stripped
    assert "amara okafor" in lowered and "okafor" not in lowered  # surname folded
    assert "ECB" in ents and "harwick" in lowered
    assert "dockworkers" not in lowered and "strike" not in lowered
    german = extract_entities("Die Erhöhung der Preise trifft die Stadtwerke Neustadt.", "de")
    assert german == ["Stadtwerke Neustadt"]


def test_score_in_unit_interval_and_reason_non_empty():
    for a in ALL:
        for b in ALL:
            s, reason = score(a, b, IDF)
            assert 0.0 <= s <= 1.0
            assert isinstance(reason, str) and reason.strip()
            assert len(reason) < 120


def test_score_is_symmetric_and_deterministic():
    s1, r1 = score(STRIKE_1, STRIKE_2, IDF)
    s2, _ = score(STRIKE_2, STRIKE_1, IDF)
    assert s1 == s2
    # fresh objects (no caches) and a fresh idf give bit-identical results
    fresh = [ArticleFeatures.from_dict(json.loads(json.dumps(f.to_dict()))) for f in ALL]
    assert score(fresh[0], fresh[1], idf_for(fresh)) == (s1, r1)


def test_identical_articles_score_high():
    s, _ = score(STRIKE_1, STRIKE_1, IDF)
    assert s > 0.95


def test_same_story_outranks_near_miss_sharing_common_words():
    same, reason = score(STRIKE_1, STRIKE_2, IDF)
    near, _ = score(STRIKE_1, NEAR_MISS, IDF)
    unrelated, _ = score(STRIKE_1, UNRELATED, IDF)
    assert same > 2 * near
    assert near >= unrelated
    assert reason == "similar text; shared tags: ports, strikes"


def test_editorial_context_cannot_create_relatedness():
    a = feats("Tram line opens", "The new tram line to Northfield opened to passengers.")
    b = feats("Budget for parks", "Council approves more money for tennis courts and lawns.")
    s, _ = score(a, b, idf_for([a, b]))
    assert s < 0.05  # same section, source, author and day, but nothing topical in common


def test_rank_sorted_by_score_then_id_and_limited_to_k():
    cands = [(4, UNRELATED), (3, NEAR_MISS), (2, STRIKE_2), (9, STRIKE_2)]
    out = rank(STRIKE_1, cands, IDF, k=3)
    assert [i for i, _, _ in out] == [2, 9, 3]
    assert out[0][1] == out[1][1]
    assert all(isinstance(r, str) and r for _, _, r in out)
    assert rank(STRIKE_1, cands, IDF, k=0) == []
    assert rank(STRIKE_1, cands, IDF, k=3) == out  # deterministic


def test_to_dict_from_dict_round_trip():
    for f in ALL:
        d = f.to_dict()
        encoded = json.dumps(d)
        back = ArticleFeatures.from_dict(json.loads(encoded))
        assert back == f
        assert back.to_dict() == d
    assert len(STRIKE_1.terms) <= 200


def test_pickle_and_copy_after_scoring():
    import copy
    import pickle

    score(STRIKE_1, STRIKE_2, IDF)  # populates the per-object cache (holds a weakref)
    assert pickle.loads(pickle.dumps(STRIKE_1)) == STRIKE_1
    assert copy.deepcopy(STRIKE_1) == STRIKE_1


def test_missing_metadata_is_tolerated():
    f = extract_features(
        title="Only a title about harbour cranes",
        subtitle="",
        text="",
        tags=None,
        section=None,
        sources=None,
        authors=None,
        published_at=None,
        language="en",
    )
    s, reason = score(f, STRIKE_1, IDF)
    assert 0.0 <= s <= 1.0 and reason
    empty = ArticleFeatures.from_dict({})
    assert score(empty, empty, IDF)[0] == 0.0


def test_candidate_keys_link_same_story():
    k1, k2 = set(candidate_keys(STRIKE_1)), set(candidate_keys(STRIKE_2))
    assert k1 & k2
    assert any(k.startswith("tag:") for k in k1)
    assert any(k.startswith("ent:") for k in k1)
    assert any(k.startswith("term:") for k in k1)
    assert candidate_keys(STRIKE_1) == sorted(k1)


def test_make_idf_formula():
    idf = make_idf({"port": 3}, 10)
    assert idf("port") == pytest.approx(math.log(11 / 4) + 1)
    assert idf("unseen") == pytest.approx(math.log(11) + 1)


def test_score_is_fast():
    pairs = [(a, b) for a in ALL for b in ALL]
    for a, b in pairs:
        score(a, b, IDF)
    t0 = time.perf_counter()
    n = 0
    for _ in range(200):
        for a, b in pairs:
            score(a, b, IDF)
            n += 1
    per_pair = (time.perf_counter() - t0) / n
    assert per_pair < 200e-6  # target is < 50 us; generous bound for slow CI machines


def test_figures_are_terms_in_one_spelling_for_english_and_german():
    assert number_key("3.1", "en") == number_key("3,1", "de") == "#3.1"
    assert number_key("45,000", "en") == number_key("45.000", "de") == "#45000"
    assert number_key("2:06:41", "en") == number_key("2:06:41", "de") == "#2:06:41"
    assert number_key("7", "en") is None  # one digit says little
    assert number_key("1,2,3", "de") is None
    assert "#1800" in tokenize("Auren cuts 1,800 jobs in 2026.", "en")
    assert "#2026" in tokenize("Auren cuts 1,800 jobs in 2026.", "en")
    assert "#1800" in tokenize("Auren streicht 1.800 Stellen.", "de")


def test_articles_in_two_languages_meet_on_names_figures_and_cognates():
    english = feats(
        "Inflation eases to 3.1%",
        "Consumer prices in Norland rose 3.1% in October after 3.8% in September, the "
        "statistics office said. Cheaper fuel drove the slowdown.",
        section=None,
        sources=(),
        authors=(),
    )
    german = feats(
        "Inflation sinkt auf 3,1 Prozent",
        "Die Verbraucherpreise in Norland lagen im Oktober 3,1 Prozent über dem Vorjahr, nach "
        "3,8 Prozent im September. Vor allem Kraftstoff wurde billiger.",
        section=None,
        sources=(),
        authors=(),
        language="de",
    )
    other = feats(
        "Norland opens a new ferry terminal",
        "A ferry terminal opened in Norland in October, with room for two ships.",
        section=None,
        sources=(),
        authors=(),
    )
    idf = idf_for([english, german, other, *ALL])
    same, _ = score(german, english, idf)
    assert same > 2 * score(german, other, idf)[0]
    assert same == score(english, german, idf)[0]


def test_stemming_from_many_threads_at_once_gives_the_same_terms():
    """Server threads save articles at the same time: the stemmer must not be shared between
    them (a shared snowball stemmer raised IndexError mid-save and could cache a wrong stem)."""
    import random
    import threading

    from cms.services.related import scoring

    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    texts = [
        " ".join(
            "".join(rng.choice(letters) for _ in range(rng.randint(6, 14))) + "ings"
            for _ in range(400)
        )
        for _ in range(16)
    ]
    expected = []
    for text in texts:
        expected.append(tokenize(text))
    scoring._stem.cache_clear()  # each thread must stem for real, not read the cache
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(texts))

    def work(i: int) -> None:
        start.wait()
        try:
            results[i] = tokenize(texts[i])
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [results[i] for i in range(len(texts))] == expected


def test_the_compiled_stemmer_stems_as_the_pure_python_one():
    """snowballstemmer runs PyStemmer's compiled Snowball when it is installed (a dependency,
    for the speed of a save); it must give the stems of snowballstemmer's own Python code, in
    every language the related scoring stems, or features would depend on the install."""
    import importlib
    import random

    import snowballstemmer

    from cms.services.related.scoring import _SNOWBALL_LANG

    rng = random.Random(3)
    words = set(
        "running runner ran organisers organization dockworkers striking harbour harbours "
        "Häfen Hafen Preise Preis gehen gegangen nationalité nationales ciudades corriendo "
        "mangiando huizen lopen trabalhando arbetare løbende juoksevat".lower().split()
    )
    syllables = str.split("ka lo mi ra te su na vo pe di ga re bo li fa nu se to ha ing ed ung ité")
    for _ in range(3000):
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 5))))
    assert snowballstemmer.stemmer("english").__class__.__module__ != (
        "snowballstemmer.english_stemmer"
    ), "PyStemmer is not installed"
    for language in sorted(set(_SNOWBALL_LANG.values())):
        module = importlib.import_module(f"snowballstemmer.{language}_stemmer")
        pure = getattr(module, f"{language.title()}Stemmer")()
        compiled = snowballstemmer.stemmer(language)
        assert [compiled.stemWord(w) for w in sorted(words)] == [
            pure.stemWord(w) for w in sorted(words)
        ], language
