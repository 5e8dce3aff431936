"""PostgreSQL search: the snippets of a page's hits, cut in Python from the start of the body.

``ts_headline`` parses and stems its whole input on every call; over a window of 600
characters of each of 20 hits that was most of the database's CPU per search. Here the words
of the text are only stemmed where they could be hits: a regular expression finds the words
starting like one of the query's lexemes (loosely: see :func:`_loose_prefix`), and only those
are stemmed, by the same Snowball stemmers PostgreSQL's ``english`` and ``german``
configurations use (``simple`` only lowercases), to check that their stem is one of the
query's lexemes (or starts with it, for a ``word*`` prefix).

A snippet is at most :data:`FRAGMENTS` fragments of :data:`FRAGMENT_WORDS` words, each starting
:data:`LEAD_WORDS` words before a hit, joined by " … ": the first hit within the first
``SNIPPET_SOURCE_CHARS`` characters of the body, and the next one after that fragment. Every
hit inside them is marked ``<mark>…</mark>``, the rest is HTML-escaped. Without a hit in the
text (the query matched the title or the tags) it is the text's first
:data:`FRAGMENT_WORDS` words. The work per hit is bounded by the source's length however long
the body is.
"""

from __future__ import annotations

import html
import re
import threading

import Stemmer

FRAGMENTS = 2
FRAGMENT_WORDS = 30
LEAD_WORDS = 5
_DELIMITER = " … "
# Marks around hits until the snippet is escaped (Unicode's private use area).
_OPEN, _CLOSE = "\ue000", "\ue001"
# Stemmer per text-search configuration (``simple``: none, the word lowercased).
_ALGORITHMS = {"english": "english", "german": "german"}
_STEMMERS = threading.local()
# Words judged per query (``_Judge``).
_KNOWN_MAX = 20_000
# Characters a stem may have replaced, per configuration: German umlauts and ß, English y.
# (Only where the stemmer replaces them: a letter left alone makes a word whose stem differs
# from the lexeme, which ``_Judge`` refuses anyway, and a literal start is found faster.)
_LOOSE = {"a": "[aä]", "o": "[oö]", "u": "[uü]", "i": "[iyï]", "e": "[eë]", "ss": "(?:ss|ß)"}
_LOOSE_BY_CONFIG = {"german": _LOOSE, "english": {"i": _LOOSE["i"]}}


def _stem(cfg: str, word: str) -> str:
    """``word`` (lowercased) stemmed as ``cfg`` stems it, by this thread's stemmer: a
    Snowball stemmer keeps the word it works on in itself, so threads of one server process
    must not share one."""
    mine = _STEMMERS.__dict__.setdefault("by_config", {})
    if cfg not in mine:
        algorithm = _ALGORITHMS.get(cfg)
        mine[cfg] = Stemmer.Stemmer(algorithm) if algorithm else None
    stemmer = mine[cfg]
    return stemmer.stemWord(word) if stemmer else word


def _loose_prefix(cfg: str, lexeme: str) -> str:
    """A pattern every word whose stem in ``cfg`` is ``lexeme`` (or starts with it) starts
    with: the stem's letters, each also as the letters ``cfg``'s stemmer folds into it, the
    last one left out (English stems may end in an ``i`` for a ``y`` or ``ies``)."""
    loose = _LOOSE_BY_CONFIG.get(cfg, {})
    parts, i = [], 0
    while i < len(lexeme):
        if "ss" in loose and lexeme.startswith("ss", i):
            parts.append(loose["ss"])
            i += 2
            continue
        parts.append(loose.get(lexeme[i], re.escape(lexeme[i])))
        i += 1
    return "".join(parts[:-1] if len(parts) > 2 else parts)


class Snippets:
    """The snippet maker of one query: ``lexemes`` maps each configuration to the query's
    lexemes as it stems them, with their ``:*`` prefix flag."""

    def __init__(self, lexemes: dict[str, list[tuple[str, str]]]):
        self._configs = {}
        for cfg, words in lexemes.items():
            if not words:
                self._configs[cfg] = None
                continue
            prefixes = {_loose_prefix(cfg, w) for w, _ in words}
            alternatives = "|".join(sorted(prefixes, key=len)[::-1])
            # Matched on the lowercased text (a literal start is found fast), or, when
            # lowercasing changed the text's length, case-insensitively on the text itself.
            self._configs[cfg] = (
                re.compile(rf"(?:{alternatives})\w*"),
                re.compile(rf"(?:{alternatives})\w*", re.IGNORECASE),
                _Judge(cfg, words),
            )

    def render(self, cfg: str, text: str | None) -> str:
        """The snippet of ``text`` (the start of a hit's body) as HTML."""
        if not text:
            return ""
        matcher = self._configs.get(cfg)
        if matcher is None:
            return _render(text, [(0, _forward(text, 0))], [])
        lowered_candidates, candidates, judge = matcher
        searched = text.lower()
        if len(searched) == len(text):
            candidates = lowered_candidates
        else:
            searched = text
        fragments: list[tuple[int, int]] = []
        marks: list[tuple[int, int]] = []
        end = 0
        for found in candidates.finditer(searched):
            at = found.start()
            if at and (searched[at - 1].isalnum() or searched[at - 1] == "_"):
                continue  # not the start of a word
            if not judge(found.group()):
                continue
            if at >= end:  # a hit after the current fragment: a new one
                if len(fragments) == FRAGMENTS:
                    break
                start = _backward(text, at, end)
                end = _forward(text, start)
                fragments.append((start, end))
            if at < end:
                marks.append(found.span())
        if not fragments:
            return _render(text, [(0, _forward(text, 0))], [])
        return _render(text, fragments, marks)


class _Judge:
    """Whether a word of a ``cfg`` text is one of the query's ``words``: its stem is one of
    the lexemes, or starts with a prefix lexeme (the answers kept per word)."""

    def __init__(self, cfg: str, words: list[tuple[str, str]]):
        self._exact = frozenset(word for word, prefix in words if not prefix)
        self._prefixes = tuple(word for word, prefix in words if prefix)
        self._cfg = cfg
        self._known: dict[str, bool] = {}

    def __call__(self, word: str) -> bool:
        known = self._known.get(word)
        if known is None:
            lowered = word.lower()
            stem = _stem(self._cfg, lowered)
            known = stem in self._exact or bool(self._prefixes and stem.startswith(self._prefixes))
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[word] = known
        return known


# Up to LEAD_WORDS words, matched on the reversed text before a hit.
_LEAD = re.compile(rf"\W*(?:\w+\W+){{0,{LEAD_WORDS - 1}}}\w+")
# Up to FRAGMENT_WORDS words, and the punctuation after the last one.
_FRAGMENT = re.compile(rf"\W*(?:\w+\W+){{0,{FRAGMENT_WORDS - 1}}}\w+[^\w\s]*")


def _backward(text: str, at: int, floor: int) -> int:
    """Where the :data:`LEAD_WORDS` words before ``at`` start (not before ``floor``)."""
    found = _LEAD.match(text[max(floor, at - 40 * LEAD_WORDS) : at][::-1])
    return at - found.end() if found else at


def _forward(text: str, start: int) -> int:
    """Where the :data:`FRAGMENT_WORDS` words from ``start`` end."""
    found = _FRAGMENT.match(text, start)
    return found.end() if found else len(text)


def _render(text: str, fragments: list[tuple[int, int]], marks: list[tuple[int, int]]) -> str:
    """The fragments of ``text`` with ``marks`` marked, escaped in one call (the marks are
    private-use characters until then, which ``escape`` leaves alone; a text holding them has
    them as spaces)."""
    if _OPEN in text or _CLOSE in text:
        text = text.replace(_OPEN, " ").replace(_CLOSE, " ")
    out = []
    marks_left = iter(marks)
    mark = next(marks_left, None)
    for index, (start, end) in enumerate(fragments):
        if index:
            out.append(_DELIMITER)
        position = start
        while mark is not None and mark[0] < end:
            out += (text[position : mark[0]], _OPEN, text[mark[0] : mark[1]], _CLOSE)
            position = mark[1]
            mark = next(marks_left, None)
        out.append(text[position:end])
    escaped = html.escape("".join(out), quote=False)
    if marks:
        escaped = escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    return " ".join(escaped.split())
