"""Scoring engine for "suggested related articles" (pure Python, no Flask/DB imports).

Pipeline
--------
1. ``extract_features`` runs once per article *revision*. It turns the article into an
   :class:`ArticleFeatures` record (JSON-serialisable with ``to_dict``/``from_dict``) that the
   DB layer stores next to the revision:

   * ``terms``: weighted term frequencies of title + subtitle + body. Text is tokenised with a
     regex, lower-cased, English/German stop words and newsroom boiler-plate ("said",
     weekday names ...) are dropped and every token is stemmed with the Snowball stemmer of
     the article's language. Figures of two or more digits are terms too, in one spelling for
     English and German (``#3.1`` for "3.1%" and "3,1 Prozent", ``#45000`` for "45,000" and
     "45.000"): in short wire copy the numbers often say which event a text is about. Title,
     subtitle and body occurrences count alike (the title's words usually recur in the body;
     weighting headlines 3x made short wire copy match on headline vocabulary, see
     eval/related/README.md). Only the 200 heaviest terms are kept.
   * ``entities``: proper names (people, places, organisations, acronyms) found as runs of
     capitalised words in subtitle + body, with sentence-initial common words, honorifics
     ("Mayor", "Dr") and calendar words removed; "Okafor" is folded into "Amara Okafor". They
     find candidates and word the reason; their words count in the score as terms.
   * the editorial metadata (tags, section, sources, authors, publication time, language).

2. ``score(a, b, idf)`` compares two records. Each signal is in [0, 1]:

   ========== ===================================================== ======
   signal     definition                                            weight
   ========== ===================================================== ======
   text       cosine of (1 + ln tf) * idf(term) vectors              0.55
   tags       Jaccard of tag sets, each tag weighted by idf("tag:x") 0.20
   ========== ===================================================== ======

   Two articles in different languages compare their text on stems cut to their first four
   letters (figures whole), so names, figures and cognates meet across German and English.
   Names have no weight of their own: their words are already terms, and counting them twice
   made a shared town name pull unrelated local stories together (eval/related/README.md).

   These *topical* signals form a weighted mean (a signal that is missing on either side --
   no tags -- is left out of the mean instead of counting as a mismatch). The weak *editorial
   context* signals -- same section (0.35), publication times within days (recency,
   ``exp(-ln 2 * days / 7)``, 0.35), shared sources (0.15) and shared authors (0.15) -- form a
   second weighted mean ``context``. The final score is::

       score = topical * (0.8 + 0.2 * context) + 0.001 * context

   so context re-orders articles that are already topically related but can never make an
   unrelated article look related (two unrelated stories from the same section on the same
   day still score ~0). The score is clamped to [0, 1] and rounded to 6 decimals so that it is
   deterministic across platforms.

   The ``reason`` names the one or two strongest contributions in plain words, e.g.
   ``"same story: Port Authority, Dockworkers' Union"``, ``"shared tags: energy, prices"``,
   ``"similar text"``, ``"same section: business"``.

3. ``rank(query, candidates, idf, k)`` scores candidates and returns the top ``k`` as
   ``(id, score, reason)`` sorted by score descending, then id ascending.

Serving model: the DB layer keeps document frequencies for every key of
:func:`df_keys` (terms, ``ent:`` and ``tag:`` keys) and an inverted index over
:func:`candidate_keys`. On publish/edit it extracts features once, looks up candidates that
share a key, ``rank``s them and stores the top suggestions for the article (and updates the
stored lists of the candidates that now rank it), so reads never compute anything.

``idf`` is any callable ``term -> float``; :func:`make_idf` builds the usual
``ln((N + 1) / (df + 1)) + 1`` from a document-frequency mapping. ``score``/``rank`` cache the
idf-weighted vector of each features object per idf object (held weakly), so build a new idf
callable when document frequencies change -- :func:`make_idf` snapshots its input.
"""

from __future__ import annotations

import heapq
import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import snowballstemmer

from cms.text import STOP_WORDS, TOPIC_WORDS, language_key

__all__ = [
    "ArticleFeatures",
    "Idf",
    "candidate_keys",
    "df_key",
    "df_keys",
    "extract_entities",
    "extract_features",
    "make_idf",
    "rank",
    "score",
    "tokenize",
]

IdfFn = Callable[[str], float]

MAX_TERMS = 200
MAX_ENTITIES = 30
CANDIDATE_TERMS = 40
# Articles in two languages are compared on stems cut to this many letters (see _cross_vector).
CROSS_PREFIX = 4
TITLE_WEIGHT = 1.0
SUBTITLE_WEIGHT = 1.0
BODY_WEIGHT = 1.0

# Topical signals (weighted mean over the signals available on both sides).
W_TEXT = 0.55
W_ENTITIES = 0.25  # weight of shared names when wording the reason (not in the score)
W_TAGS = 0.20
# Editorial context (weighted mean) and how strongly it modulates the topical score.
W_SECTION = 0.35
W_RECENCY = 0.35
W_SOURCES = 0.15
W_AUTHORS = 0.15
CONTEXT_SHARE = 0.2
# Context alone gives an unrelated article a tiny score (at most 0.001), so the newest articles
# fill a list in a stable order when nothing topical is there.
CONTEXT_FLOOR = 0.001
RECENCY_HALF_LIFE_DAYS = 7.0

# Thresholds used only to word the reason.
_MIN_SIGNAL = 0.05
_SAME_STORY_TEXT = 0.3

# ---------------------------------------------------------------------------------------------
# Stop words of both languages (cms.text). Lower-case, before stemming.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = (STOP_WORDS["en"] | STOP_WORDS["de"]) - TOPIC_WORDS

# Words that never form an entity on their own (calendar words, sentence adverbs ...).
_ENTITY_STOP = _STOP | _words(
    """
    but and or the a an this that these those it its he she they we i you his her their our
    however meanwhile yet still so then there here now while when where if after before
    jan feb mar apr jun jul aug sep sept oct nov dec mondays tuesdays wednesdays thursdays
    fridays saturdays sundays one two three four five six seven eight nine ten eleven twelve
    twenty thirty forty fifty hundred thousand first second third viele vielen mehr weitere
    """
)

# Honorifics and job titles stripped from the front of a name ("Mayor Amara Okafor").
_HONORIFICS = _words(
    """
    mr mrs ms miss dr prof professor sir dame lord lady rev president vice mayor deputy
    minister prime chancellor governor judge justice senator councillor councilor chief
    executive inspector detective superintendent commissioner chairman chairwoman chair
    director general secretary captain coach manager striker defender goalkeeper midfielder
    herr frau bürgermeister bürgermeisterin ministerin minister präsident präsidentin
    kanzler kanzlerin sprecher sprecherin chef chefin reverend father bishop pastor imam rabbi
    coordinator organiser organizer leader officer sergeant constable head founder trainer
    spokesperson geschäftsführer geschäftsführerin vorsitzende vorsitzender oberbürgermeister
    oberbürgermeisterin trainerin stadtrat stadträtin landrat landrätin
    """
)

# Lower-case connectors allowed *inside* a name: "Bank of England", "Ursula von der Leyen".
# German capitalises every noun, so there only nobiliary particles connect ("Erhöhung der
# Preise" is not a name); "der"/"den" are accepted after "von".
_CONNECTORS = _words("of for de del der di du da la le van von y the")
_CONNECTORS_DE = _words("von van zu de")

_SNOWBALL_LANG = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "fi": "finnish",
}

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Figures: "3.1", "45,000", "2:06:41" (German "3,1" and "45.000" are read the German way).
_NUMBER_RE = re.compile(r"(?<![\w.,:])\d+(?:[.,:]\d+)*")
_WORD_RE = re.compile(r"[^\W_]+(?:['’.&-][^\W_]+)*\.?")
_SENT_SPLIT_RE = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+|\n+")
_POSSESSIVE_RE = re.compile(r"['’]s?$")


# ---------------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True)
class ArticleFeatures:
    """Per-revision feature record; store ``to_dict()`` next to the article revision."""

    terms: dict[str, float]
    entities: list[str]
    tags: list[str]
    section: str | None
    sources: list[str]
    authors: list[str]
    published_at: float | None
    language: str

    def __getstate__(self) -> dict[str, Any]:  # pickle/copy without the scoring cache
        return {k: v for k, v in self.__dict__.items() if k != _CACHE_ATTR}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (terms sorted by weight desc, then term)."""
        return {
            "terms": {t: self.terms[t] for t in sorted(self.terms, key=_term_order(self.terms))},
            "entities": list(self.entities),
            "tags": list(self.tags),
            "section": self.section,
            "sources": list(self.sources),
            "authors": list(self.authors),
            "published_at": self.published_at,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArticleFeatures:
        """Inverse of :meth:`to_dict`; tolerant of missing optional keys."""
        terms = {str(k): float(v) for k, v in (data.get("terms") or {}).items()}
        published = data.get("published_at")
        return cls(
            terms={t: terms[t] for t in sorted(terms, key=_term_order(terms))},
            entities=[str(e) for e in data.get("entities") or []],
            tags=[str(t) for t in data.get("tags") or []],
            section=data.get("section"),
            sources=[str(s) for s in data.get("sources") or []],
            authors=[str(a) for a in data.get("authors") or []],
            published_at=None if published is None else float(published),
            language=str(data.get("language") or "en"),
        )


def _term_order(terms: Mapping[str, float]) -> Callable[[str], tuple[float, str]]:
    return lambda t: (-terms[t], t)


_stemmers = threading.local()
# Words whose token (:func:`_token_stem`) and cleaned form (:func:`_clean_word`) are kept: a
# bound, so a worker's memory stays flat.
_WORDS_CACHED = 65_536


def _stemmer(lang: str) -> Any:
    """This thread's stemmer for ``lang``: a snowball stemmer keeps the word it works on in
    itself, so threads of one server process must not share one."""
    mine = _stemmers.__dict__.setdefault("by_lang", {})
    stemmer = mine.get(lang)
    if stemmer is None:
        stemmer = mine[lang] = snowballstemmer.stemmer(_SNOWBALL_LANG.get(lang, "english"))
    return stemmer


@lru_cache(maxsize=200_000)
def _stem(word: str, lang: str) -> str:
    return _stemmer(lang).stemWord(word)


def number_key(figure: str, language: str) -> str | None:
    """A figure in one spelling for every language: ``#45000``, ``#3.1``; None if too short.

    English reads "," as a thousands separator and "." as the decimal point, German the other
    way round, so "3,1 Prozent" and "3.1%" meet, and so do "45.000" and "45,000". A figure of
    one digit ("5 people") says little and is dropped; times and scores keep their colons.
    """
    if ":" in figure:
        key = figure
    else:
        thousands, decimal = (".", ",") if language == "de" else (",", ".")
        parts = figure.split(decimal)
        if len(parts) > 2:
            return None
        whole = parts[0]
        groups = whole.split(thousands)
        if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
            return None
        key = "".join(groups).lstrip("0") or "0"
        if len(parts) == 2:
            key += "." + parts[1]
    if sum(c.isdigit() for c in key) < 2:
        return None
    return "#" + key


def tokenize(text: str, language: str = "en") -> list[str]:
    """Lower-case, drop stop words/one-letter tokens, stem; figures become ``#`` keys."""
    lang = language_key(language)
    out: list[str] = []
    for match in _NUMBER_RE.finditer(text):
        key = number_key(match.group().rstrip(".,:"), lang)
        if key:
            out.append(key)
    for word in _TOKEN_RE.findall(text.lower()):
        stem = _token_stem(word, lang)
        if stem is not None:
            out.append(stem)
    return out


@lru_cache(maxsize=_WORDS_CACHED)
def _token_stem(word: str, lang: str) -> str | None:
    """What :func:`tokenize` keeps of one lower-case word: its stem, or None (a stop word, one
    letter, no letter). A function of the word alone, so each word is worked out once."""
    tok = _POSSESSIVE_RE.sub("", word).replace("’", "'")
    if len(tok) < 2 or tok in _STOP or not any(c.isalpha() for c in tok):
        return None
    stem = _stem(tok, lang)
    return stem if len(stem) >= 2 and stem not in _STOP else None


def _norm_label(value: Any) -> str:
    return " ".join(str(value).strip().lstrip("#").split())


def _norm_list(values: Iterable[Any] | None) -> list[str]:
    """Strip/collapse whitespace and drop case-insensitive duplicates, keeping first order."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values or []:
        label = _norm_label(value)
        key = label.casefold()
        if label and key not in seen:
            seen.add(key)
            out.append(label)
    return out


def _timestamp(value: datetime | float | int | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:  # naive datetimes are taken to be UTC
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return 2 <= len(letters) <= 6 and all(c.isupper() for c in letters)


@lru_cache(maxsize=_WORDS_CACHED)
def _clean_word(word: str) -> str:
    """Drop a sentence-final dot (but keep "U.S.") and a possessive "'s"."""
    if word.endswith(".") and word.count(".") == 1:
        word = word[:-1]
    return _POSSESSIVE_RE.sub("", word)


def extract_entities(text: str, language: str = "en", limit: int = MAX_ENTITIES) -> list[str]:
    """Proper names from plain prose, most frequent first (ties: first mention).

    Runs of capitalised words (allowing connectors such as "of"/"von") are names. A
    sentence-initial word only starts a name if it is also capitalised mid-sentence somewhere
    in the text and never used in lower case. For German, where every noun is capitalised,
    only multi-word names and acronyms are kept.
    """
    lang = language_key(language)
    sentences = [s for s in _SENT_SPLIT_RE.split(text) if s.strip()]
    words_per_sentence: list[list[str]] = []
    for sentence in sentences:
        # A punctuation gap ("Harwick, Mayor Okafor") ends a name: mark it with an empty word.
        words: list[str] = []
        end = 0
        for m in _WORD_RE.finditer(sentence):
            if words and sentence[end : m.start()].strip():
                words.append("")
            words.append(_clean_word(m.group()))
            end = m.end()
        words_per_sentence.append(words)
    lower_seen: set[str] = set()
    mid_caps: set[str] = set()
    for words in words_per_sentence:
        for i, w in enumerate(words):
            if not w:
                continue
            if _is_capitalised(w):
                if i > 0:
                    mid_caps.add(w)
            else:
                lower_seen.add(w.casefold())

    counts: Counter[str] = Counter()
    first_pos: dict[str, int] = {}
    surface: dict[str, str] = {}
    pos = 0
    for words in words_per_sentence:
        i = 0
        while i < len(words):
            w = words[i]
            if not w or not _is_capitalised(w):
                i += 1
                continue
            run = [w]
            j = i + 1
            while j < len(words):
                nxt = words[j]
                if (nxt and _is_capitalised(nxt)) or (
                    _is_connector(nxt, run[-1], lang)
                    and j + 1 < len(words)
                    and words[j + 1]
                    and (_is_capitalised(words[j + 1]) or _is_connector(words[j + 1], nxt, lang))
                ):
                    run.append(nxt)
                    j += 1
                else:
                    break
            start_of_sentence = i == 0
            i = j
            name = _clean_run(run, start_of_sentence, lower_seen, mid_caps, lang)
            if name:
                key = name.casefold()
                counts[key] += 1
                first_pos.setdefault(key, pos)
                surface.setdefault(key, name)
            pos += 1

    # Fold "Kenyan Ruth Chebet" into "Ruth Chebet" when the shorter multi-word name also occurs.
    for key in sorted((k for k in counts if k.count(" ") >= 2), key=lambda k: first_pos[k]):
        parts = key.split()
        for cut in range(1, len(parts) - 1):
            tail = " ".join(parts[cut:])
            if tail in counts and tail != key:
                counts[tail] += counts.pop(key)
                first_pos[tail] = min(first_pos[tail], first_pos[key])
                break
    # Fold "Okafor" into "Amara Okafor" (single word equal to first/last word of a longer name).
    multi = sorted((k for k in counts if " " in k), key=lambda k: first_pos[k])
    for key in [k for k in counts if " " not in k]:
        for m in multi:
            parts = m.split()
            if key in (parts[0], parts[-1]):
                counts[m] += counts.pop(key)
                break

    ordered = sorted(counts, key=lambda k: (-counts[k], first_pos[k], k))
    return [surface[k] for k in ordered[:limit]]


def _is_connector(word: str, previous: str, lang: str) -> bool:
    if lang == "de":
        return word in _CONNECTORS_DE or (word in ("der", "den") and previous == "von")
    return word in _CONNECTORS


def _clean_run(
    run: list[str], start_of_sentence: bool, lower_seen: set[str], mid_caps: set[str], lang: str
) -> str | None:
    words = list(run)
    while words and words[-1].islower():  # trailing connectors
        words = words[:-1]
    # Sentence-initial word: keep only if it is a name elsewhere too. In German (all nouns
    # capitalised) or before a connector ("Negotiators for the Port Authority") it must also
    # be capitalised somewhere mid-sentence.
    if start_of_sentence and words:
        first = words[0]
        cf = first.casefold()
        if (
            cf in _ENTITY_STOP
            or cf in lower_seen
            or (first not in mid_caps and (len(words) == 1 or lang == "de" or words[1].islower()))
        ):
            words = words[1:]
    while words and words[0].islower():  # leading connectors after dropping a word
        words = words[1:]
    # Leading honorifics / job titles / stop words: "Mayor Amara Okafor" -> "Amara Okafor".
    while len(words) > 1 and (
        words[0].casefold() in _HONORIFICS or words[0].casefold() in _ENTITY_STOP
    ):
        words = words[1:]
    while words and words[-1] in _CONNECTORS:
        words = words[:-1]
    if not words:
        return None
    if len(words) == 1:
        w = words[0]
        cf = w.casefold()
        if _is_acronym(w):
            return w
        if lang == "de" or cf in _ENTITY_STOP or cf in _HONORIFICS or len(cf) < 3:
            return None
        if cf in lower_seen:  # "Strike" capitalised once but used as a common word
            return None
    return " ".join(words)


def extract_features(
    *,
    title: str,
    subtitle: str,
    text: str,
    tags: Iterable[str] | None,
    section: str | None,
    sources: Iterable[str] | None,
    authors: Iterable[str] | None,
    published_at: datetime | None,
    language: str,
) -> ArticleFeatures:
    """Compute the stored feature record of one article revision (deterministic)."""
    lang = language_key(language)
    weights: dict[str, float] = {}
    for field_text, w in (
        (title or "", TITLE_WEIGHT),
        (subtitle or "", SUBTITLE_WEIGHT),
        (text or "", BODY_WEIGHT),
    ):
        for tok in tokenize(field_text, lang):
            weights[tok] = weights.get(tok, 0.0) + w
    top = sorted(weights, key=_term_order(weights))[:MAX_TERMS]
    terms = {t: weights[t] for t in top}
    prose = "\n".join(p for p in ((subtitle or "").strip(), (text or "").strip()) if p)
    section_label = _norm_label(section) if section else None
    return ArticleFeatures(
        terms=terms,
        entities=extract_entities(prose, lang),
        tags=_norm_list(tags),
        section=section_label or None,
        sources=_norm_list(sources),
        authors=_norm_list(authors),
        published_at=_timestamp(published_at),
        language=lang,
    )


# ---------------------------------------------------------------------------------------------
# Keys for the DB layer


def df_keys(f: ArticleFeatures) -> set[str]:
    """Keys whose document frequency the DB layer should count (one per article revision).

    Plain terms, ``ent:<name>`` and ``tag:<tag>`` (case-folded); ``idf`` is called with these.
    """
    keys = set(f.terms)
    keys.update("ent:" + e.casefold() for e in f.entities)
    keys.update("tag:" + t.casefold() for t in f.tags)
    return keys


def df_key(key: str) -> str:
    """The document-frequency key of an index key (``term:<stem>`` is counted as ``<stem>``)."""
    return key[5:] if key.startswith("term:") else key


def candidate_keys(f: ArticleFeatures) -> list[str]:
    """Inverted-index keys used to fetch candidates cheaply (sorted, deduplicated).

    ``tag:<tag>``, ``ent:<name>`` and ``term:<stem>`` for the :data:`CANDIDATE_TERMS`
    heaviest terms: title and standfirst words, repeated words, then body words, so short
    untagged wire copy is found through its ordinary vocabulary too. The DB layer skips keys
    whose document frequency is high (:func:`df_key` names the counter) when it looks up
    candidates.
    """
    keys = {"tag:" + t.casefold() for t in f.tags}
    keys.update("ent:" + e.casefold() for e in f.entities)
    heavy = [t for t in sorted(f.terms, key=_term_order(f.terms)) if len(t) >= 3]
    keys.update("term:" + t for t in heavy[:CANDIDATE_TERMS])
    return sorted(keys)


class Idf:
    """``ln((N + 1) / (df + 1)) + 1`` over a snapshot of document frequencies (memoised)."""

    __slots__ = ("_df", "_n", "_cache", "__weakref__")

    def __init__(self, df: Mapping[str, int], n_docs: int) -> None:
        self._df = dict(df)
        self._n = max(int(n_docs), 0)
        self._cache: dict[str, float] = {}

    def __call__(self, term: str) -> float:
        value = self._cache.get(term)
        if value is None:
            df = min(max(self._df.get(term, 0), 0), self._n)
            value = math.log((self._n + 1) / (df + 1)) + 1.0
            self._cache[term] = value
        return value


def make_idf(df: Mapping[str, int], n_docs: int) -> Idf:
    """Smoothed idf callable; unseen terms get the maximum weight ``ln(N + 1) + 1``."""
    return Idf(df, n_docs)


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class _Prepared:
    vec: dict[str, float]
    norm: float
    lang: str
    cross: dict[str, float]
    cross_norm: float
    ents: dict[str, float]  # casefolded entity -> weight
    ent_norm: float
    ent_display: dict[str, str]
    tags: dict[str, float]  # casefolded tag -> weight
    tag_display: dict[str, str]
    section: str | None
    section_display: str
    sources: frozenset[str]
    sources_display: dict[str, str]
    authors: frozenset[str]
    authors_display: dict[str, str]


_CACHE_ATTR = "_similarity_cache"


def _prepare(f: ArticleFeatures, idf: IdfFn) -> _Prepared:
    cached = getattr(f, _CACHE_ATTR, None)
    if cached is not None and cached[0]() is idf:
        return cached[1]
    vec = {t: (1.0 + math.log(w)) * idf(t) for t, w in f.terms.items() if w > 0}
    ents = {e.casefold(): idf("ent:" + e.casefold()) for e in f.entities}
    tags = {t.casefold(): idf("tag:" + t.casefold()) for t in f.tags}
    cross = _cross_vector(vec)
    prepared = _Prepared(
        vec=vec,
        norm=math.sqrt(sum(v * v for v in vec.values())),
        lang=f.language,
        cross=cross,
        cross_norm=math.sqrt(sum(v * v for v in cross.values())),
        ents=ents,
        ent_norm=math.sqrt(sum(v * v for v in ents.values())),
        ent_display={e.casefold(): e for e in f.entities},
        tags=tags,
        tag_display={t.casefold(): t for t in f.tags},
        section=f.section.casefold() if f.section else None,
        section_display=f.section or "",
        sources=frozenset(s.casefold() for s in f.sources),
        sources_display={s.casefold(): s for s in f.sources},
        authors=frozenset(a.casefold() for a in f.authors),
        authors_display={a.casefold(): a for a in f.authors},
    )
    try:
        ref = weakref.ref(idf)
    except TypeError:  # not weak-referenceable: compute every time
        return prepared
    object.__setattr__(f, _CACHE_ATTR, (ref, prepared))
    return prepared


def _cross_vector(vec: Mapping[str, float]) -> dict[str, float]:
    """The text vector with each stem cut to its first :data:`CROSS_PREFIX` letters (figures
    kept whole), for comparing articles in two languages: "Inflation"/"inflation",
    "Korsby"/"Korsby's" and "Container"/"container" stem differently in German and English
    but share their first letters. Stems shorter than the prefix are left out."""
    cross: dict[str, float] = {}
    for term, value in vec.items():
        key = term if term.startswith("#") else term[:CROSS_PREFIX]
        if len(key) >= CROSS_PREFIX:
            cross[key] = cross.get(key, 0.0) + value
    return cross


def _cosine(a: Mapping[str, float], norm_a: float, b: Mapping[str, float], norm_b: float) -> float:
    if norm_a <= 0 or norm_b <= 0:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = 0.0
    for t, v in small.items():
        w = large.get(t)
        if w is not None:
            dot += v * w
    return min(dot / (norm_a * norm_b), 1.0)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter) if inter else 0.0


def _top_shared(weights: Mapping[str, float], shared: Iterable[str], n: int = 2) -> list[str]:
    return sorted(shared, key=lambda k: (-weights[k], k))[:n]


def _score_prepared(
    pa: _Prepared, pb: _Prepared, ta: float | None, tb: float | None
) -> tuple[float, str]:
    # --- topical signals -------------------------------------------------------------------
    topical_num = 0.0
    topical_den = 0.0
    text = 0.0
    if pa.lang != pb.lang and pa.cross_norm > 0 and pb.cross_norm > 0:
        text = _cosine(pa.cross, pa.cross_norm, pb.cross, pb.cross_norm)
    elif pa.norm > 0 and pb.norm > 0:
        text = _cosine(pa.vec, pa.norm, pb.vec, pb.norm)
    topical_num += W_TEXT * text
    topical_den += W_TEXT

    # Names are not a signal of their own: their words are terms of the text already, and a
    # second vote made a shared town name ("Tollin") pull unrelated local stories together.
    # The shared names still word the reason.
    ent = 0.0
    shared_ents: list[str] = []
    if pa.ents and pb.ents:
        shared_ents = [e for e in pa.ents if e in pb.ents]
        if shared_ents:
            dot = sum(pa.ents[e] * pb.ents[e] for e in shared_ents)
            ent = min(dot / (pa.ent_norm * pb.ent_norm), 1.0)

    tag = 0.0
    shared_tags: list[str] = []
    if pa.tags and pb.tags:
        shared_tags = [t for t in pa.tags if t in pb.tags]
        if shared_tags:
            inter = sum(pa.tags[t] for t in shared_tags)
            union = sum(pa.tags.values()) + sum(pb.tags[t] for t in pb.tags if t not in pa.tags)
            tag = inter / union
        topical_num += W_TAGS * tag
        topical_den += W_TAGS

    topical = topical_num / topical_den

    # --- editorial context -------------------------------------------------------------------
    ctx_num = 0.0
    ctx_den = 0.0
    same_section = bool(pa.section and pa.section == pb.section)
    if pa.section and pb.section:
        ctx_num += W_SECTION * same_section
        ctx_den += W_SECTION
    recency = 0.0
    if ta is not None and tb is not None:
        days = abs(ta - tb) / 86400.0
        recency = math.exp(-math.log(2) * days / RECENCY_HALF_LIFE_DAYS)
        ctx_num += W_RECENCY * recency
        ctx_den += W_RECENCY
    src = 0.0
    if pa.sources and pb.sources:
        src = _jaccard(pa.sources, pb.sources)
        ctx_num += W_SOURCES * src
        ctx_den += W_SOURCES
    auth = 0.0
    if pa.authors and pb.authors:
        auth = _jaccard(pa.authors, pb.authors)
        ctx_num += W_AUTHORS * auth
        ctx_den += W_AUTHORS
    context = ctx_num / ctx_den if ctx_den else 0.0

    value = topical * ((1.0 - CONTEXT_SHARE) + CONTEXT_SHARE * context) + CONTEXT_FLOOR * context
    value = round(min(max(value, 0.0), 1.0), 6)

    # --- reason ------------------------------------------------------------------------------
    parts: list[tuple[float, str]] = []
    if ent >= _MIN_SIGNAL and shared_ents:
        names = [pa.ent_display[e] for e in _top_shared(pa.ents, shared_ents)]
        label = "same story" if text >= _SAME_STORY_TEXT and ent >= 0.3 else "shared names"
        parts.append((W_ENTITIES * ent, f"{label}: {', '.join(names)}"))
    if tag >= _MIN_SIGNAL and shared_tags:
        names = [pa.tag_display[t] for t in _top_shared(pa.tags, shared_tags)]
        parts.append((W_TAGS * tag, f"shared tags: {', '.join(names)}"))
    if text >= _MIN_SIGNAL:
        parts.append((W_TEXT * text, "similar text"))
    parts.sort(key=lambda p: -p[0])
    if parts:
        words = [p[1] for p in parts[:2]]
        if len(words) == 2 and words[1] == "similar text" and words[0].startswith("same story"):
            words = words[:1]  # "same story" already implies similar text
        return value, "; ".join(words)
    if same_section:
        return value, f"same section: {pa.section_display}"
    if src > 0:
        shared = sorted(pa.sources & pb.sources)
        return value, f"same source: {pa.sources_display[shared[0]]}"
    if auth > 0:
        shared = sorted(pa.authors & pb.authors)
        return value, f"same author: {pa.authors_display[shared[0]]}"
    if recency >= 0.5:
        return value, "published around the same time"
    return value, "weak match"


def score(a: ArticleFeatures, b: ArticleFeatures, idf: IdfFn) -> tuple[float, str]:
    """Relatedness of ``a`` and ``b`` in [0, 1] plus a short human-readable reason.

    Symmetric in its score (the reason lists names from ``a``'s spelling). See the module
    docstring for the formula.
    """
    return _score_prepared(_prepare(a, idf), _prepare(b, idf), a.published_at, b.published_at)


def rank(
    query: ArticleFeatures,
    candidates: Iterable[tuple[int, ArticleFeatures]],
    idf: IdfFn,
    k: int,
) -> list[tuple[int, float, str]]:
    """Top ``k`` ``(id, score, reason)`` sorted by score desc, then id asc.

    Nothing is excluded here (the caller removes the query article itself); candidates with
    score 0 are still returned if fewer than ``k`` better ones exist.
    """
    if k <= 0:
        return []
    pq = _prepare(query, idf)
    scored: list[tuple[float, int, str]] = []
    for cid, feats in candidates:
        s, reason = _score_prepared(
            pq, _prepare(feats, idf), query.published_at, feats.published_at
        )
        scored.append((-s, cid, reason))
    best = heapq.nsmallest(k, scored, key=lambda x: (x[0], x[1]))
    return [(cid, -neg, reason) for neg, cid, reason in best]
