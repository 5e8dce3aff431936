"""Extractive, deterministic, offline summarizer for article bodies.

The summarizer never writes new text: every sentence it returns is a sentence
of the article (whitespace normalised, inline HTML stripped).

Algorithm
---------
1. **Units.** Only ``paragraph``, ``quote`` and ``list`` blocks feed sentences
   (list items are split individually).  Inline HTML is stripped, entities are
   unescaped, whitespace is collapsed.  Sentences are split with pysbd (rule
   based, EN/DE aware) plus a small repair pass for known pysbd slips
   ("am 3. Mai", "ca. 5 Mio.", lowercase continuations).
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
from typing import Any

import pysbd

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

_STOP_EN = STOP_WORDS["en"]
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

_SEGMENTER_LANGS = frozenset(
    {"en", "de", "es", "fr", "it", "nl", "da", "pl", "ru", "bg", "el", "sk"}
)
_local = threading.local()


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


def _should_merge(prev: str, nxt: str) -> bool:
    if not _ALNUM_RE.search(nxt):
        return True  # stray punctuation, e.g. "..."
    if not _TERMINAL_RE.search(prev):
        return True  # pysbd split mid-sentence ("Er kam am | 3. Mai.")
    first = nxt.lstrip("\"'„“”«»‚‘’([")[:1]
    if first.islower():
        return True  # sentences do not start lower-case in EN/DE
    if first.isdigit():
        m = _LAST_WORD_RE.search(prev)
        if m and m.group(1).lower() in _ABBREVIATIONS:
            return True  # "approx. | 5 million"
    return False


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
    for piece in _segmenter(seg_lang).processor(text).process():
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


def _tokens(text: str, lang: str) -> list[str]:
    stop = _STOP_DE if lang == "de" else _STOP_EN
    out = []
    for tok in _TOKEN_RE.findall(text.lower()):
        tok = tok.replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        if len(tok) < 2 or tok in stop:
            continue
        out.append(_stem(tok, lang))
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


def _pagerank(sim: list[list[float]]) -> list[float]:
    n = len(sim)
    if n == 0:
        return []
    edges: list[list[tuple[int, float]]] = [[] for _ in range(n)]  # incoming
    for i in range(n):
        row = sim[i]
        total = sum(w for j, w in enumerate(row) if j != i and w > EDGE_THRESHOLD)
        if total <= 0:
            continue
        for j, w in enumerate(row):
            if j != i and w > EDGE_THRESHOLD:
                edges[j].append((i, w / total))
    dangling = [
        i for i in range(n) if not any(j != i and w > EDGE_THRESHOLD for j, w in enumerate(sim[i]))
    ]
    rank = [1.0 / n] * n
    base = (1.0 - DAMPING) / n
    for _ in range(100):
        dangling_mass = DAMPING * sum(rank[i] for i in dangling) / n
        new = [
            base + dangling_mass + DAMPING * sum(rank[i] * w for i, w in edges[j]) for j in range(n)
        ]
        delta = sum(abs(x - y) for x, y in zip(new, rank, strict=True))
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


def _collect(blocks: list[dict[str, Any]], lang: str) -> tuple[list[_Sentence], list[str]]:
    sentences: list[_Sentence] = []
    headings: list[str] = []
    for idx, block in enumerate(blocks or []):
        if not isinstance(block, dict):
            continue
        if block.get("type") == "heading":
            headings.append(_strip_html(str(block.get("text") or "")))
            continue
        for chunk in _block_texts(block):
            for sent in split_sentences(chunk, lang):
                sentences.append(
                    _Sentence(
                        text=sent,
                        block_index=idx,
                        order=len(sentences),
                        kind=str(block.get("type")),
                        words=_word_count(sent),
                    )
                )
    return sentences, headings


def _usable(sentences: list[_Sentence]) -> list[_Sentence]:
    good = [
        s
        for s in sentences
        if s.words >= MIN_SENTENCE_WORDS and s.tokens and not s.text.endswith(":")
    ]
    if good:
        return good
    return [s for s in sentences if s.words > 0]


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

    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        sim[i][i] = 1.0
        for j in range(i + 1, n):
            sim[i][j] = sim[j][i] = _cosine(cands[i].vec, cands[j].vec)

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
