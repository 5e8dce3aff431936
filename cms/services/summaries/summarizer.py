"""Extractive, deterministic, offline summarizer for article bodies.

The summarizer never writes new text: every sentence it returns is a sentence
of the article (whitespace normalised, inline HTML stripped).

Algorithm
---------
1. **Units.** Only ``paragraph``, ``quote`` and ``list`` blocks feed sentences
   (list items are split individually).  Inline HTML is stripped, entities are
   unescaped, whitespace is collapsed.  Sentences are split with pysbd (rule
   based, EN/DE aware) plus a small repair pass for known pysbd slips
   ("am 3. Mai", "ca. 5 Mio.", lowercase continuations, German abbreviations
   before capitalised nouns such as "inkl. Mehrwertsteuer", "6 a.m. Saturday").
   Wire-copy furniture is not summary material: a paragraph's leading dateline
   ("BERLIN (dpa) – ") or live-blog time stamp ("17.20 Uhr: ") is cut off the
   sentence (what remains is still verbatim text of the block); bylines,
   photo credits, time-stamp lines, correction/editor's notes, agency credits
   ("Reporting by ..."), copyright lines, cross-links ("Mehr zum Thema: ...")
   and contact lines (an e-mail address or URL) are only used when the body has
   nothing else.
2. **Vectors.** Each sentence becomes a sparse tf-idf vector over lightly
   stemmed, lower-cased tokens without stop words (inline EN/DE lists; other
   languages use the English rules).  IDF is computed over the article's own
   sentences.
3. **Centrality (LexRank).** A graph with cosine-similarity edges between
   sentences is ranked with weighted PageRank (damping 0.85, power iteration).
4. **Score.** ``score = w_c * centrality + w_p * position + w_t * topic``,
   where *position* is a decaying lead bias (news articles front-load their
   key facts) and *topic* is the cosine similarity to the title (plus
   sub-headings at half weight).  Very short/long sentences, questions,
   quote blocks, bare direct speech and sentences opening with a pronoun or
   connective ("It expects ...", "Das teilte ... mit.") are mildly damped.
5. **Selection (MMR).** Sentences are picked greedily by maximal marginal
   relevance (``lambda * score - (1 - lambda) * max similarity to already
   chosen``), first for the TL;DR (1-3 sentences, word budget), then for the
   key points (3-5 further sentences, never repeating the TL;DR where the
   article has enough material).  Both are returned in article order.
   Ties are broken by article position, so output is fully deterministic.

The module is pure Python (stdlib + pysbd) and has no Flask or DB imports.
"""

from __future__ import annotations

import copy
import html
import math
import re
import threading
from dataclasses import dataclass, field
from operator import mul, sub
from typing import Any

import pysbd
from pysbd.lang.english import English
from pysbd.processor import Processor

from cms.text import STOP_WORDS, language_key, reading_seconds

__all__ = ["split_sentences", "summarize"]

MIN_SENTENCE_WORDS = 5
LONG_SENTENCE_WORDS = 55
TLDR_MAX_WORDS = 75

W_CENTRALITY = 0.30
W_POSITION = 0.50
W_TOPIC = 0.20
POSITION_DECAY = 0.25  # e-folding length of the lead bias, as a share of sentences
MMR_LAMBDA = 0.7
SAME_BLOCK_PENALTY = 0.1
DAMPING = 0.85
EDGE_THRESHOLD = 0.03

# --------------------------------------------------------------------------
# Language resources
# --------------------------------------------------------------------------

_ABBREVIATION_WORDS = """
approx ca no nos nr vs est fig figs vol vols p pp st mt ft jr sr gen gov sen
rep lt col sgt capt cmdr adm dr mr mrs ms prof inc corp ltd co jan feb mar apr
jun jul aug sep sept oct nov dec rd bzw vgl ggf evtl usw mio mrd tsd abs art
bd hrsg jh jhd max min mind ziff
"""

# Abbreviations that do not end a sentence even before a capitalised word (German nouns).
_NEVER_FINAL_WORDS = """
inkl exkl ggü bzw vgl sog ca rd zzgl abzgl bspw insb ggf evtl lt gem tsd nr hrsg
"""
_AFTER_CLOCK_WORDS = """
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
June July August September October November December GMT UTC BST CET CEST EST EDT PST PDT ET
PT local
"""

_STOP_EN = STOP_WORDS["en"]
_NEVER_FINAL = frozenset(_NEVER_FINAL_WORDS.split())
_AFTER_CLOCK = frozenset(_AFTER_CLOCK_WORDS.split())
_STOP_DE = STOP_WORDS["de"]
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())

# Sentence openers that usually point back to earlier text ("It expects ...",
# "Das teilte ... mit"); such sentences read badly out of context.
_DANGLING_EN_WORDS = """
it its this that these those he she they his her their him them but and or
however also still yet so then such meanwhile instead there
"""
_DANGLING_DE_WORDS = """
er sie es ihr ihre sein seine dort damit dabei danach dazu daher deshalb zudem
auch aber doch zugleich außerdem allerdings stattdessen
"""
_DANGLING_EN = frozenset(_DANGLING_EN_WORDS.split())
_DANGLING_DE = frozenset(_DANGLING_DE_WORDS.split())
_DE_DEMONSTRATIVES = frozenset({"das", "dies", "diese", "dieser", "dieses"})
_QUOTE_CHARS = "\"'„“”«»‚‘’"

_ENGLISH_SUFFIXES = (
    "ations",
    "ation",
    "ingly",
    "ings",
    "ing",
    "edly",
    "ies",
    "ied",
    "ed",
    "es",
    "s",
)
_GERMAN_SUFFIXES = ("ungen", "ern", "ung", "em", "en", "er", "es", "e", "n", "s")

_TOKEN_RE = re.compile(r"[^\W_]+(?:[.,'’-][^\W_]+)*", re.UNICODE)
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_WS_RE = re.compile(r"\s+")
_TERMINAL_RE = re.compile(r"[.!?…][\"'”“»«’‘)\]]*$")
_ALNUM_RE = re.compile(r"[^\W_]", re.UNICODE)
_LAST_WORD_RE = re.compile(r"([^\W\d_]+)\.$", re.UNICODE)
# "z.B.", "u.a.", "d.h.", "v.a.", "i.d.R.": lower-case first letter, so not "U.S."
_DOTTED_ABBREVIATION_RE = re.compile(r"(?:^|\s)[a-zäöü]\.(?:[^\W\d_]\.){1,2}$", re.UNICODE)
_STREET_RE = re.compile(r"[^\W\d_]{2,}str\.$", re.UNICODE)  # "Goethestr."
_CLOCK_END_RE = re.compile(r"\d\s?[ap]\.m\.$")

_SEGMENTER_LANGS = frozenset(
    {"en", "de", "es", "fr", "it", "nl", "da", "pl", "ru", "bg", "el", "sk"}
)
_local = threading.local()


class _EnglishAbbreviations(English.AbbreviationReplacer):
    """pysbd's English abbreviation pass with the same result, less work: pysbd runs two
    regex searches and up to three substitutions for every listed abbreviation whose letters
    occur anywhere in the text ("co" in "council"), but a substitution only ever changes an
    abbreviation followed by a period ("Co."). An abbreviation that no word of the text
    starts with, followed by a period, is skipped; for the others pysbd's own code runs."""

    # (abbreviation as listed, lowered; or None where it is a pattern, not plain letters)
    _PLAIN = tuple(
        (abbr, abbr.strip().lower() if re.escape(abbr.strip()) == abbr.strip() else None)
        for abbr in English.Abbreviation.ABBREVIATIONS
    )

    def search_for_abbreviations_in_string(self, text):
        # What precedes a period, from the start of a word: "co" and "co.uk" in "co.uk.".
        # Lowering equals the regex's case-insensitive match on ASCII text; periods turned
        # into pysbd's markers below only remove candidates.
        before_period = None
        if text.isascii():
            before_period = set()
            for word in text.lower().split():
                end = word.find(".")
                while end > 0:
                    before_period.add(word[:end])
                    end = word.find(".", end + 1)
        lowered = text.lower()
        for abbr, plain in self._PLAIN:
            # Both tests skip; the cheap one first.
            if plain is not None and before_period is not None and plain not in before_period:
                continue
            stripped = abbr.strip()
            if stripped not in lowered:
                continue
            if (
                plain is not None
                and before_period is None
                and _period_after(stripped).search(" " + text) is None
            ):
                continue
            # pysbd's loop body, unchanged.
            abbrev_match = re.findall(rf"(?:^|\s|\r|\n){stripped}", text, flags=re.IGNORECASE)
            if not abbrev_match:
                continue
            next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
            char_array = re.findall(next_word_start, text)
            for ind, match in enumerate(abbrev_match):
                text = self.scan_for_replacements(text, match, ind, char_array)
        return text


_PERIOD_AFTER: dict[str, re.Pattern] = {}


def _period_after(abbreviation: str) -> re.Pattern:
    """The abbreviation after white space and before a period, in any case."""
    pattern = _PERIOD_AFTER.get(abbreviation)
    if pattern is None:
        pattern = _PERIOD_AFTER[abbreviation] = re.compile(
            r"\s" + abbreviation + r"\.", re.IGNORECASE
        )
    return pattern


class _EnglishProcessor(Processor):
    def abbreviations_replacer(self):
        return _EnglishAbbreviations(self.text, self.lang)


# Characters of a plain paragraph (see ``_plain_sentences``): none of them is a bracket, a
# double or opening quote, ``!``, ``?``, a line break or one of pysbd's placeholders.
_PLAIN_CHARS_RE = re.compile(r"[A-Za-z0-9À-ÖØ-öø-ÿ ,.;:%$&/’–—€£'-]*")
# An apostrophe that could open a quotation: first, or after anything but a letter or digit.
_OPENING_APOSTROPHE_RE = re.compile(r"(?:^|[^A-Za-z0-9À-ÖØ-öø-ÿ])'")
# A word with a period: a decimal number ("6.2", "$1.5", "6.2%,"), or a word that ends in its
# only period: two or more letters, one lower-case letter, or a number of three or more digits.
_PLAIN_DECIMAL_RE = re.compile(r"[$€£]?\d+\.\d+[%,;:]?")
_PLAIN_WORD_BEFORE_PERIOD_RE = re.compile(r"(?:[A-Za-z]{2,}|[a-z]|\d{3,}|\d{1,3}(?:,\d{3})+)\.")
# pysbd matches its abbreviations as regular expressions, in any case ("e.g" matches "egg").
_ENGLISH_ABBREVIATION_RE = re.compile(
    "|".join(abbr.strip() for abbr in English.Abbreviation.ABBREVIATIONS), re.IGNORECASE
)
_ENGLISH_PREPOSITIVE = frozenset(English.Abbreviation.PREPOSITIVE_ABBREVIATIONS)
# The rules read for ``_plain_sentences`` are those of this version; another runs pysbd.
_PLAIN_SPLIT = pysbd.__version__ == "0.3.4"


def _plain_sentences(text: str) -> list[str] | None:
    """pysbd's English sentences of a paragraph in which none of pysbd's rules can apply
    but the split after a sentence's period, found without running its ~150 regular
    expressions; ``None`` where one might (then pysbd runs).

    Plain means: only the characters of ``_PLAIN_CHARS_RE``, no ``--`` (a dash pair), no
    apostrophe that could open a quotation, not ``…Co. KG``; and every word with a period is
    a decimal number, or ends in its only period after two or more ASCII letters, one
    lower-case letter (once in the paragraph), or three or more digits. A word before a
    period that pysbd's English abbreviations match (as pysbd matches them) is not one of
    the prepositive ones ("Mr.") and is the last word or followed by a capitalised word
    other than "I": pysbd's abbreviation rules keep only periods followed by something else.
    Then its rules for lists (one letter before a period never counts as a list without a
    neighbouring letter; numbers need one or two digits or parentheses), abbreviations,
    numbers (a period next to a digit is a decimal point, which pysbd keeps), multiple
    periods, ellipses, e-mail addresses, file formats, quotations, brackets and exclamation
    words change nothing, and its boundary expression matches from each sentence's first
    character to its period: the sentences are the text cut after each period followed by a
    space (``tests/test_summarizer.py`` compares this with pysbd on generated text)."""
    if (
        _PLAIN_CHARS_RE.fullmatch(text) is None
        or "--" in text
        or ("'" in text and _OPENING_APOSTROPHE_RE.search(text) is not None)
        or "Co. KG" in text
    ):
        return None
    if "." not in text:
        return [text]
    words = text.split(" ")
    single_letters = 0
    for k, word in enumerate(words):
        if "." not in word or _PLAIN_DECIMAL_RE.fullmatch(word) is not None:
            continue
        if _PLAIN_WORD_BEFORE_PERIOD_RE.fullmatch(word) is None:
            return None
        if len(word) == 2:
            single_letters += 1
            if single_letters > 1:
                return None
        if _ENGLISH_ABBREVIATION_RE.fullmatch(word, 0, len(word) - 1) is not None:
            if word[:-1].lower() in _ENGLISH_PREPOSITIVE:
                return None
            following = words[k + 1] if k + 1 < len(words) else ""
            if following and (
                not ("A" <= following[0] <= "Z")
                or (following[0] == "I" and not following[1:2].isalpha())
            ):
                return None
    pieces = text.split(". ")
    return [piece + "." for piece in pieces[:-1]] + [pieces[-1]]


def _sentences_of(text: str, language: str) -> list[str]:
    """pysbd's sentences of ``text`` (the processor's, not ``Segmenter.segment``'s)."""
    if language == "en":
        plain = _plain_sentences(text) if _PLAIN_SPLIT else None
        if plain is not None:
            return plain
        return _EnglishProcessor(text, English).process()
    return _segmenter(language).processor(text).process()


def _segmenter(language: str) -> pysbd.Segmenter:
    """Per-thread cached pysbd segmenter (pysbd instances are not thread-safe)."""
    cache: dict[str, pysbd.Segmenter] | None = getattr(_local, "segmenters", None)
    if cache is None:
        cache = _local.segmenters = {}
    seg = cache.get(language)
    if seg is None:
        seg = cache[language] = pysbd.Segmenter(language=language, clean=False)
    return seg


# --------------------------------------------------------------------------
# Text handling
# --------------------------------------------------------------------------


def _normalize_ws(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def _strip_html(text: str) -> str:
    """Remove inline tags, unescape entities, collapse whitespace."""
    if not text:
        return ""
    # Tags again after unescaping: "&lt;script&gt;" must not come back as markup.
    return _normalize_ws(_TAG_RE.sub("", html.unescape(_TAG_RE.sub("", text))))


_CLOSERS = "\"'”“»«’‘)]"


def _ends_sentence(text: str) -> bool:
    """``_TERMINAL_RE.search(text)`` without trying every position: the punctuation mark
    before the closing quotes and brackets at the end (the text has no line break)."""
    return text.rstrip(_CLOSERS)[-1:] in (".", "!", "?", "…")


def _should_merge(prev: str, nxt: str) -> bool:
    # The patterns anchored at the end search only the end of ``prev`` (normalised text, no
    # line breaks): its last word (no match spans a space) or, for the patterns of bounded
    # length, the last 7 or 8 characters; the results are those of searching all of it.
    if not _ALNUM_RE.search(nxt):
        return True  # stray punctuation, e.g. "..."
    if not _ends_sentence(prev):
        return True  # pysbd split mid-sentence ("Er kam am | 3. Mai.")
    if nxt[:1] in ",;:)]":
        return True  # "Sen. Jane Doe, D-Calif. | , objected."
    first = nxt.lstrip("\"'„“”«»‚‘’([")[:1]
    if first.islower():
        return True  # sentences do not start lower-case in EN/DE
    last_word = prev[prev.rfind(" ") + 1 :]
    m = _LAST_WORD_RE.search(last_word)
    word = m.group(1).lower() if m else ""
    if first.isdigit() and word in _ABBREVIATIONS:
        return True  # "approx. | 5 million"
    # German capitalises nouns, so an abbreviation that never ends a sentence is followed by a
    # capital letter: "inkl. | Mehrwertsteuer", "ggü. | Vorjahr", "Goethestr. | 5", "z.B. | Bäcker".
    if _CLOCK_END_RE.search(prev[-7:]):  # at most 7 characters: "6 a.m."
        # "until 6 a.m. | Saturday", "at 11 p.m. | GMT"; but "at 9 a.m. | The rest ..."
        return nxt.split(maxsplit=1)[0].strip(".,") in _AFTER_CLOCK
    return bool(
        word in _NEVER_FINAL
        # at most 7 characters (" z.B.", " i.d.R."), or 6 from the start ("i.d.R.")
        or _DOTTED_ABBREVIATION_RE.search(prev[-8:])
        or _STREET_RE.search(last_word)
    )


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split plain text into sentences (whitespace-normalised, never rewritten).

    Uses pysbd for EN/DE and other supported languages; unknown languages use
    the English rules.  A repair pass merges fragments pysbd sometimes produces
    around ordinals, abbreviations before numbers and ellipses.
    """
    text = _normalize_ws(text or "")
    if not text:
        return []
    lang = language_key(language)
    seg_lang = lang if lang in _SEGMENTER_LANGS else "en"
    # Map pysbd pieces back onto the text as contiguous spans, so that merged
    # sentences stay verbatim and no text between pieces can get lost.
    spans: list[tuple[int, int]] = []
    cursor = 0
    # The processor's sentences, not ``Segmenter.segment``: that maps every sentence back onto
    # the text with a freshly compiled regex per sentence (most of its time); the spans are
    # found below with ``str.find`` instead.
    for piece in _sentences_of(text, seg_lang):
        piece = piece.strip()
        found = text.find(piece, cursor) if piece else -1
        if found < 0:
            continue
        end = found + len(piece)
        if spans and _should_merge(text[spans[-1][0] : spans[-1][1]], piece):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((cursor, end))
        cursor = end
    if cursor < len(text):
        if spans:
            spans[-1] = (spans[-1][0], len(text))
        else:
            spans.append((0, len(text)))
    out = [text[a:b].strip() for a, b in spans]
    return [s for s in out if s]


def _stem(token: str, lang: str) -> str:
    if len(token) <= 4 or token[0].isdigit():
        return token
    suffixes = _GERMAN_SUFFIXES if lang == "de" else _ENGLISH_SUFFIXES
    for suffix in suffixes:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


def _token_of(word: str, lang: str) -> str | None:
    """The stemmed token of one lower-cased word of ``_TOKEN_RE``, or None for a stop word."""
    stop = _STOP_DE if lang == "de" else _STOP_EN
    tok = word.replace("’", "'")
    if tok.endswith("'s"):
        tok = tok[:-2]
    if len(tok) < 2 or tok in stop:
        return None
    return _stem(tok, lang)


# Tokens of words seen before, German and other (the rules differ only for German); a plain
# dict emptied when it grows past the bound (a word's token never changes).
_TOKEN_CACHES: dict[bool, dict[str, str | None]] = {True: {}, False: {}}
_TOKEN_CACHE_MAX = 65_536  # as many as the stems cached before
_UNKNOWN = object()


def _tokens(text: str, lang: str) -> list[str]:
    cache = _TOKEN_CACHES[lang == "de"]
    if len(cache) > _TOKEN_CACHE_MAX:
        cache.clear()
    out = []
    for word in _TOKEN_RE.findall(text.lower()):
        tok = cache.get(word, _UNKNOWN)
        if tok is _UNKNOWN:
            tok = cache[word] = _token_of(word, lang)
        if tok is not None:
            out.append(tok)
    return out


def _is_dangling(text: str, lang: str) -> bool:
    """True if the sentence opens with a pronoun/connective needing prior context."""
    words = text.lstrip(_QUOTE_CHARS + "([").split(maxsplit=2)
    if not words:
        return False
    first = words[0].strip(",;:").lower()
    if lang == "de":
        if first in _DANGLING_DE:
            return True
        if first not in _DE_DEMONSTRATIVES or len(words) < 2:
            return False
        # "Das teilte ... mit" (pronoun + verb) vs. "Das neue System" (article):
        # German nouns are capitalised and inflected adjectives end in -e/-en/...
        nxt = words[1]
        if not nxt[:1].islower():
            return False
        return nxt.endswith(("te", "ten")) or not nxt.endswith(("e", "en", "er", "es", "em"))
    return first in _DANGLING_EN or text.lower().startswith(("after that", "at the same time"))


def _word_count(text: str) -> int:
    return len(text.split())


# --------------------------------------------------------------------------
# Sparse vector helpers
# --------------------------------------------------------------------------

Vector = dict[str, float]


def _tfidf(tokens: list[str], idf: dict[str, float], default_idf: float) -> Vector:
    counts: dict[str, int] = {}
    for tok in tokens:
        counts[tok] = counts.get(tok, 0) + 1
    vec = {t: (1.0 + math.log(c)) * idf.get(t, default_idf) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    if norm:
        for t in vec:
            vec[t] /= norm
    return vec


def _cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[t] for t, v in a.items() if t in b)


def _similarities(vecs: list[Vector]) -> list[list[float]]:
    """``_cosine`` of every pair of vectors (1.0 on the diagonal), the same numbers.

    Most pairs of sentences share no token, or one or two: the pairs that share any are found
    through each token's sentences, and their products added there. ``_cosine`` adds the
    products of the shared tokens, starting at the integer 0, in the order of the smaller
    vector: a pair without a shared token is that 0, one product is itself, and two add to
    the same float in either order. Pairs with three or more shared tokens are summed as
    ``_cosine`` sums them."""
    n = len(vecs)
    sim: list[list[float]] = [[0] * n for _ in range(n)]
    holders: dict[str, list[int]] = {}
    for i, vec in enumerate(vecs):
        sim[i][i] = 1.0
        for t in vec:
            held = holders.get(t)
            if held is None:
                holders[t] = [i]
            else:
                held.append(i)
    shared: dict[tuple[int, int], list[float]] = {}
    for t, held in holders.items():
        if len(held) < 2:
            continue
        for k, i in enumerate(held):
            vi = vecs[i][t]
            for j in held[k + 1 :]:
                product = vi * vecs[j][t]
                products = shared.get((i, j))
                if products is None:
                    shared[i, j] = [product]
                else:
                    products.append(product)
    for (i, j), products in shared.items():
        if len(products) == 1:
            value = products[0]
        elif len(products) == 2:
            value = products[0] + products[1]
        else:
            value = _cosine(vecs[i], vecs[j])
        sim[i][j] = sim[j][i] = value
    return sim


def _pagerank(sim: list[list[float]]) -> list[float]:
    n = len(sim)
    if n == 0:
        return []
    # Incoming edges of each sentence: where from, and the normalised weight. A sentence
    # without outgoing edges is dangling.
    sources: list[list[int]] = [[] for _ in range(n)]
    weights: list[list[float]] = [[] for _ in range(n)]
    dangling = []
    for i in range(n):
        edges = [(j, w) for j, w in enumerate(sim[i]) if w > EDGE_THRESHOLD and j != i]
        if not edges:
            dangling.append(i)
            continue
        total = sum(w for _, w in edges)
        for j, w in edges:
            sources[j].append(i)
            weights[j].append(w / total)
    incoming = list(zip(sources, weights, strict=True))
    rank = [1.0 / n] * n
    base = (1.0 - DAMPING) / n
    # The sums add the same products in the same order as a loop would, starting at the
    # integer 0 (a sum of one product is that product), so the ranks are the same to the last
    # bit; through ``map`` for speed.
    for _ in range(100):
        dangling_mass = DAMPING * sum(map(rank.__getitem__, dangling)) / n
        constant = base + dangling_mass
        rank_of = rank.__getitem__
        new = [constant + DAMPING * sum(map(mul, map(rank_of, src), ws)) for src, ws in incoming]
        delta = sum(map(abs, map(sub, new, rank)))
        rank = new
        if delta < 1e-7:
            break
    return rank


# --------------------------------------------------------------------------
# Summarization
# --------------------------------------------------------------------------


@dataclass
class _Sentence:
    text: str
    block_index: int
    order: int
    kind: str
    words: int
    boilerplate: bool = False
    tokens: list[str] = field(default_factory=list)
    vec: Vector = field(default_factory=dict)
    score: float = 0.0


def _block_texts(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind in ("paragraph", "quote"):
        return [_strip_html(str(block.get("text") or ""))]
    if kind == "list":
        return [_strip_html(str(item or "")) for item in block.get("items") or []]
    return []


# --------------------------------------------------------------------------
# What is not article text: datelines, bylines, credits, notes, service lines
# --------------------------------------------------------------------------

_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|"
    r"June|July|August|September|October|November|December)\.?"
)
_OPENS_SENTENCE = r"(?=[\"„“«‚'A-ZÄÖÜ0-9])"
# "QESRA, Marravia (AP) — ", "ELMSWORTH, Dec 3 (Reuters) - ", "MÜNCHEN/STUTTGART (dpa/lby) – "
_DATELINE_CAPS_RE = re.compile(
    r"^[A-ZÄÖÜ]{2}[A-ZÄÖÜß.'’-]*(?:[ /-][A-ZÄÖÜ][A-ZÄÖÜß.'’-]*)*"
    r"(?:,\s[A-Z][\w.]*(?:\s[A-Z][\w.]*)?)?"
    rf"(?:,\s{_MONTH}\s\d{{1,2}})?"
    r"\s*(?:\([^()]{1,40}\))?\s*[-–—]{1,2}\s+" + _OPENS_SENTENCE
)
# "Lindau/Kempfeld – " (a place name in title case needs an en or em dash)
_DATELINE_TITLE_RE = re.compile(
    r"^[A-ZÄÖÜ][^\W\d_]+(?:/[A-ZÄÖÜ][^\W\d_]+)*\s?(?:\([^()]{1,40}\))?\s[–—]\s+" + _OPENS_SENTENCE
)
# Live-blog entries: "18:45 — ", "17.20 Uhr: ", "9:05 a.m. GMT - "
_TIMESTAMP_RE = re.compile(
    r"^\d{1,2}[:.]\d{2}(?:\s?(?:Uhr|h|a\.m\.|p\.m\.|am|pm))?(?:\s?(?:GMT|UTC|MEZ|MESZ|CET|CEST|ET))?"
    r"\s*[-–—:|]\s+" + _OPENS_SENTENCE
)
# A whole paragraph that is a note about the article, not part of it.
_NOTE_LABEL_RE = re.compile(
    r"^(?:Correction|Corrections|Clarification|Editor['’]s note|Editors['’] note|Korrektur|"
    r"Berichtigung|Richtigstellung|Anmerkung der Redaktion|Hinweis der Redaktion|"
    r"Transparenzhinweis|In eigener Sache)\s*:",
    re.IGNORECASE,
)
_NOTE_TEXT_RE = re.compile(
    r"^(?:an earlier version of this (?:article|story|report)|this (?:article|story|report) "
    r"(?:has been|was) (?:corrected|updated|amended)|in einer früheren (?:Version|Fassung) "
    r"(?:dieses|des) (?:Artikels|Textes|Beitrags|Berichts))",
    re.IGNORECASE,
)
# Short unpunctuated lines naming the author ("By Hannah Greaves", not "Von der Leyen in Kiew")
# or the photographer.
_BYLINE_RE = re.compile(
    r"^(?:By|Von|Text|Author|Autor|Autorin|Reporter|Reporterin|Our reporter|"
    r"Our correspondent|Unser Korrespondent|Unsere Korrespondentin)\b\s*:?\s+[A-ZÄÖÜ]",
)
_CREDIT_RE = re.compile(r"^(?:Fotos?|Photos?|Bild|Bilder|Picture|Grafik|Video)\s*:\s")
_STAMP_RE = re.compile(
    r"^(?:Published|Updated|Last updated|Veröffentlicht|Aktualisiert|Zuletzt aktualisiert|"
    r"Stand)\b.*\d"
)
_BOILERPLATE_RE = re.compile(
    # "(Reporting by ...; Editing by ...)", "Reporting by A; Editing by B"; not "Reporting by
    # the BBC suggested ..."
    r"^\((?:additional )?(?:reporting|writing|editing) by\b"
    r"|^(?:additional )?reporting by\b[^.]*;\s*(?:writing|editing) by\b"
    r"|\bcontributed (?:reporting )?to this (?:report|story|article)\b"
    r"|^(?:©|\(c\)\s|copyright\s*(?:©|\(c\)|\d{4}))|\ball rights reserved\b"
    r"|\balle rechte vorbehalten\b|dpa-infocom"
    r"|^(?:mehr zum thema|lesen sie (?:auch|mehr|hier)|auch interessant|weitere informationen"
    r"|read more|read also|related:|see also|sign up|subscribe|follow (?:us|our)"
    r"|folgen sie uns|abonnieren sie|melden sie sich)\b",
    re.IGNORECASE,
)
# What the expressions of ``_BOILERPLATE_RE`` not anchored at the start need, lower-cased.
_BOILERPLATE_WORDS = (
    "contributed",
    "all rights reserved",
    "alle rechte vorbehalten",
    "dpa-infocom",
)
_CONTACT_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://|\bwww\.", re.IGNORECASE)
_CONTACT_BOX_MAX_WORDS = 40
_BYLINE_MAX_WORDS = 12


def _strip_lead_prefix(text: str, *, first: bool = True) -> str:
    """A paragraph's text without its live-blog time stamp or, for the article's first
    paragraph, its dateline; otherwise unchanged ("Damals – Anfang der 90er – war ..." in a
    later paragraph is not a dateline)."""
    patterns = (_DATELINE_CAPS_RE, _TIMESTAMP_RE, _DATELINE_TITLE_RE) if first else (_TIMESTAMP_RE,)
    for pattern in patterns:
        m = pattern.match(text)
        if m:
            return text[m.end() :]
    return text


def _is_note_block(text: str) -> bool:
    """A byline, credit, time stamp or correction note: the paragraph is about the article."""
    if _NOTE_LABEL_RE.match(text) or _NOTE_TEXT_RE.search(text[:200]):
        return True
    short = _word_count(text) <= _BYLINE_MAX_WORDS and not _ends_sentence(text)
    return short and bool(_BYLINE_RE.match(text) or _CREDIT_RE.match(text) or _STAMP_RE.match(text))


def _has_address(text: str) -> bool:
    """An e-mail address or a URL (the plain test first: most sentences have neither)."""
    lowered = text.lower()
    if "@" not in text and "://" not in text and "www." not in lowered:
        return False
    return bool(_CONTACT_RE.search(text))


def _is_boilerplate(sentence: str) -> bool:
    """Agency credits, copyright, cross-links and contact lines."""
    if _has_address(sentence):
        return True
    if sentence.isascii() and not any(word in sentence.lower() for word in _BOILERPLATE_WORDS):
        # Only the expressions anchored at the start can match (in ASCII text lower-casing
        # is what IGNORECASE does): try them there instead of at every position.
        return _BOILERPLATE_RE.match(sentence) is not None
    return _BOILERPLATE_RE.search(sentence) is not None


def _collect(blocks: list[dict[str, Any]], lang: str) -> tuple[list[_Sentence], list[str]]:
    sentences: list[_Sentence] = []
    headings: list[str] = []
    seen_text = False  # datelines open only the first text paragraph
    for idx, block in enumerate(blocks or []):
        if not isinstance(block, dict):
            continue
        kind = str(block.get("type"))
        if kind == "heading":
            headings.append(_strip_html(str(block.get("text") or "")))
            continue
        for chunk in _block_texts(block):
            note = kind == "paragraph" and _is_note_block(chunk)
            if kind == "paragraph" and not note:
                chunk = _strip_lead_prefix(chunk, first=not seen_text)
            sents = split_sentences(chunk, lang)
            seen_text = seen_text or (bool(sents) and not note)
            # A short paragraph that ends in an address is a contact or service box.
            contact = note or (
                0 < len(sents) <= 3
                and _word_count(chunk) <= _CONTACT_BOX_MAX_WORDS
                and _has_address(sents[-1])
            )
            for sent in sents:
                sentences.append(
                    _Sentence(
                        text=sent,
                        block_index=idx,
                        order=len(sentences),
                        kind=kind,
                        words=_word_count(sent),
                        boilerplate=contact or _is_boilerplate(sent),
                    )
                )
    return sentences, headings


def _usable(sentences: list[_Sentence]) -> list[_Sentence]:
    text = [s for s in sentences if not s.boilerplate] or sentences
    good = [
        s for s in text if s.words >= MIN_SENTENCE_WORDS and s.tokens and not s.text.endswith(":")
    ]
    if good:
        return good
    return [s for s in text if s.words > 0]


def _score(cands: list[_Sentence], title: str, headings: list[str], lang: str) -> list[list[float]]:
    n = len(cands)
    df: dict[str, int] = {}
    for s in cands:
        for tok in set(s.tokens):
            df[tok] = df.get(tok, 0) + 1
    idf = {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in df.items()}
    default_idf = math.log(n + 1) + 1.0
    for s in cands:
        s.vec = _tfidf(s.tokens, idf, default_idf)

    sim = _similarities([s.vec for s in cands])

    rank = _pagerank(sim)
    top = max(rank) if rank else 1.0
    centrality = [r / top if top else 0.0 for r in rank]

    topic_tokens = _tokens(title or "", lang) * 2
    for h in headings:
        topic_tokens += _tokens(h, lang)
    topic = _tfidf(topic_tokens, idf, default_idf) if topic_tokens else {}
    w_topic = W_TOPIC if topic else 0.0
    w_total = W_CENTRALITY + W_POSITION + w_topic

    decay = max(3.0, n * POSITION_DECAY)
    for k, s in enumerate(cands):
        position = math.exp(-k / decay)
        topical = _cosine(s.vec, topic) if topic else 0.0
        score = (W_CENTRALITY * centrality[k] + W_POSITION * position + w_topic * topical) / w_total
        if s.words < 8:
            score *= 0.75
        elif s.words > LONG_SENTENCE_WORDS:
            score *= 0.85
        if s.text.rstrip("\"'”“»«’) ").endswith("?"):
            score *= 0.7
        if s.kind == "quote":
            score *= 0.85
        elif s.text[:1] in _QUOTE_CHARS:
            score *= 0.85  # bare direct speech
        if _is_dangling(s.text, lang):
            score *= 0.8
        s.score = score
    return sim


def _mmr(
    cands: list[_Sentence], sim: list[list[float]], chosen: list[int], pool: list[int], k: int
) -> list[int]:
    picked: list[int] = []
    pool = list(pool)
    blocks_used = {cands[i].block_index for i in chosen}
    for _ in range(k):
        best, best_val = -1, -math.inf
        for i in pool:
            redundancy = max((sim[i][j] for j in chosen + picked), default=0.0)
            val = MMR_LAMBDA * cands[i].score - (1 - MMR_LAMBDA) * redundancy
            if cands[i].block_index in blocks_used:
                val -= SAME_BLOCK_PENALTY
            if val > best_val + 1e-12:  # strict: earlier sentence wins ties
                best, best_val = i, val
        if best < 0:
            break
        picked.append(best)
        blocks_used.add(cands[best].block_index)
        pool.remove(best)
    return picked


def _reading_time(texts: list[str]) -> int:
    return reading_seconds(sum(_word_count(t) for t in texts))


def summarize(title: str, blocks: list[dict], language: str = "en") -> dict:
    """Summarize an article body.

    Returns ``{"tldr": str, "key_points": [{"text", "block_index",
    "attribution"}], "reading_time_seconds": int}``.  Output is extractive
    and deterministic; see the module docstring for the algorithm.
    """
    lang = language_key(language)
    sentences, headings = _collect(blocks, lang)
    for s in sentences:
        s.tokens = _tokens(s.text, lang)
    cands = _usable(sentences)
    if not cands:
        return {"tldr": "", "key_points": [], "reading_time_seconds": 0}
    if len(cands) == 1:
        return {
            "tldr": cands[0].text,
            "key_points": [],
            "reading_time_seconds": _reading_time([cands[0].text]),
        }

    sim = _score(cands, title, headings, lang)
    n = len(cands)
    n_tldr = 1 if n <= 4 else 2 if n <= 10 else 3
    n_points = 3 if n < 15 else 4 if n < 30 else 5

    tldr_idx = _mmr(cands, sim, [], list(range(n)), n_tldr)
    # Respect the word budget, dropping the lowest-ranked extra sentences.
    while len(tldr_idx) > 1 and sum(cands[i].words for i in tldr_idx) > TLDR_MAX_WORDS:
        tldr_idx.pop()
    tldr_idx.sort()

    rest = [i for i in range(n) if i not in tldr_idx]
    point_idx = sorted(_mmr(cands, sim, tldr_idx, rest, min(n_points, len(rest))))

    tldr = " ".join(cands[i].text for i in tldr_idx)
    key_points = []
    for i in point_idx:
        block = blocks[cands[i].block_index]
        attribution = block.get("attribution")
        key_points.append(
            {
                "text": cands[i].text,
                "block_index": cands[i].block_index,
                "attribution": copy.deepcopy(attribution)
                if isinstance(attribution, dict)
                else None,
            }
        )
    return {
        "tldr": tldr,
        "key_points": key_points,
        "reading_time_seconds": _reading_time([tldr] + [p["text"] for p in key_points]),
    }
