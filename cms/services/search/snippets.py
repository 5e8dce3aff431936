"""PostgreSQL search: the snippets of a page's hits, cut in Python from their excerpts.

``ts_headline`` parses and stems its whole input on every call; over a window of 600
characters of each of 20 hits that was most of the database's CPU per search. Here the words
of the text are only stemmed where they could be hits: a regular expression finds the words
starting like one of the query's lexemes (loosely: see :func:`_loose_prefix`), and only those
are stemmed, by the same Snowball stemmers PostgreSQL's ``english`` and ``german``
configurations use (``simple`` only lowercases), to check that their stem is one of the
query's lexemes (or starts with it, for a ``word*`` prefix).

The text is a hit's *excerpt* (``index.pg_excerpt``): the first ``EXCERPT_CHARS``
characters of the body with every run of whitespace made one space, as the index stores it. A
*word* here is what lies between two spaces, punctuation included. A snippet is at most
:data:`FRAGMENTS` fragments of at most :data:`FRAGMENT_WORDS` words (and
:data:`FRAGMENT_CHARS` characters), each starting :data:`LEAD_WORDS` words before a hit,
joined by " … ": the first hit in the excerpt, and the next one after that fragment. Every
hit inside them is marked ``<mark>…</mark>``, the rest is HTML-escaped. Without a hit in the
text (the query matched the title or the tags) it is the excerpt's first
:data:`FRAGMENT_WORDS` words. With the whitespace made single spaces when the article was
indexed, a fragment's words are found by one ``str.rsplit`` and one bounded regular expression,
and the snippet needs no tidying: the work per hit is a few microseconds, bounded by the
excerpt's length however long the body is.
"""

from __future__ import annotations

import html
import re
import threading

import Stemmer

FRAGMENTS = 2
FRAGMENT_WORDS = 30
LEAD_WORDS = 5
# A fragment's length at most, whatever its words (a text without spaces: Chinese, say), and
# how far back its lead words are looked for.
FRAGMENT_CHARS = 400
LEAD_CHARS = 200
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
            prefixes = [_loose_prefix(cfg, w) for w, _ in words]
            # Matched on the lowercased text (a literal start is found fast), or, when
            # lowercasing changed the text's length, case-insensitively on the text itself.
            self._configs[cfg] = (
                _scanner(prefixes),
                _scanner(prefixes, re.IGNORECASE),
                _Judge(cfg, words),
            )

    def render(self, cfg: str, text: str | None) -> str:
        """The snippet of ``text`` (a hit's excerpt, see the module) as HTML, made in one pass
        over its hits: each fragment's text is copied as its hits are found."""
        if not text:
            return ""
        matcher = self._configs.get(cfg)
        if matcher is None:
            return _lead(text)
        lowered_candidates, candidates, judge = matcher
        searched = text.lower()
        if len(searched) == len(text):
            candidates = lowered_candidates
        else:
            searched = text
        # What is copied: the text, or, when it needs escaping, the text with its own
        # private-use characters made spaces, marked with them, escaped in one call at the end
        # (which leaves them alone), then made elements. (Asked of the whole text, a few scans
        # of memory: the snippet is the same either way.)
        shown, opening, closing = text, "<mark>", "</mark>"
        escaping = _needs_escaping(text)
        if escaping:
            shown = text.replace(_OPEN, " ").replace(_CLOSE, " ")
            opening, closing = _OPEN, _CLOSE
        known = judge.known
        out: list[str] = []
        fragments = 0
        copied = end = 0  # the current fragment ends at ``end``, copied up to ``copied``
        for found in candidates(searched):
            at, stop = found.span()
            if at:
                before = searched[at - 1]
                if before.isalnum() or before == "_":
                    continue  # not the start of a word
            word = searched[at:stop]
            hit = known.get(word)  # the judge's answer, when it has given one
            if hit is None:
                hit = judge(word)
            if not hit:
                continue
            if at >= end:  # a hit after the current fragment: a new one
                if fragments == FRAGMENTS:
                    break
                if fragments:
                    out += (shown[copied:end], _DELIMITER)
                copied = _backward(text, at, end)
                end = _forward(text, copied)
                fragments += 1
            if stop > end:
                stop = end
            out += (shown[copied:at], opening, shown[at:stop], closing)
            copied = stop
        if not fragments:
            return _lead(text)
        out.append(shown[copied:end])
        snippet = "".join(out)
        if escaping:
            snippet = html.escape(snippet, quote=False)
            return snippet.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
        return snippet


def _scanner(prefixes: list[str], flags: int = 0):
    """A function giving the words of a text that start like one of ``prefixes`` (patterns),
    as matches in order: what one regular expression of them as alternatives (longest first)
    would find, at each place the longest, the search going on after it. Python's ``re`` finds
    a literal start fast, but an alternation of words starting differently is tried at every
    character (for a query of two words, half of a snippet's time): those starting alike make
    one expression, and each expression searches alone."""
    groups: dict[str, list[str]] = {}
    for prefix in sorted(set(prefixes), key=len, reverse=True):
        groups.setdefault(_FIRST.match(prefix).group(), []).append(prefix)
    patterns = [re.compile(rf"(?:{'|'.join(group)})\w*", flags) for group in groups.values()]
    if len(patterns) == 1:
        return patterns[0].finditer

    def matches(text: str):
        found = [pattern.search(text) for pattern in patterns]
        while True:
            at = min((m.start() for m in found if m), default=None)
            if at is None:
                return
            longest = max((m for m in found if m and m.start() == at), key=re.Match.end)
            yield longest
            stop = longest.end()
            found = [
                pattern.search(text, stop) if m and m.start() < stop else m
                for m, pattern in zip(found, patterns, strict=True)
            ]

    return matches


# The first element of a prefix's pattern (``_loose_prefix``): a letter, an escaped
# character, a class or a group.
_FIRST = re.compile(r"\\.|\[[^]]*\]|\(\?:[^)]*\)|.", re.DOTALL)


class _Judge:
    """Whether a word of a ``cfg`` text is one of the query's ``words``: its stem is one of
    the lexemes, or starts with a prefix lexeme (the answers kept per word)."""

    def __init__(self, cfg: str, words: list[tuple[str, str]]):
        self._exact = frozenset(word for word, prefix in words if not prefix)
        self._prefixes = tuple(word for word, prefix in words if prefix)
        self._cfg = cfg
        # The answers so far, by word (read first by ``Snippets.render``).
        self.known: dict[str, bool] = {}

    def __call__(self, word: str) -> bool:
        known = self.known.get(word)
        if known is None:
            lowered = word.lower()
            stem = _stem(self._cfg, lowered)
            known = stem in self._exact or bool(self._prefixes and stem.startswith(self._prefixes))
            if len(self.known) >= _KNOWN_MAX:
                self.known.clear()
            self.known[word] = known
        return known


# Up to FRAGMENT_WORDS words of a text of single spaces (matched within FRAGMENT_CHARS).
_FRAGMENT = re.compile(rf"(?:[^ ]*+ ){{0,{FRAGMENT_WORDS - 1}}}+[^ ]*+")


def _backward(text: str, at: int, floor: int) -> int:
    """Where the :data:`LEAD_WORDS` words before the one at ``at`` start (not before
    ``floor``, nor :data:`LEAD_CHARS` characters back)."""
    floor = max(floor, at - LEAD_CHARS)
    # The text before the hit split at its last LEAD_WORDS + 1 spaces, in one call: the
    # first part ends where the lead words start.
    parts = text[floor:at].rsplit(" ", LEAD_WORDS + 1)
    if len(parts) > LEAD_WORDS + 1:
        return floor + len(parts[0]) + 1
    return floor + 1 if text.startswith(" ", floor) else floor


def _forward(text: str, start: int) -> int:
    """Where the :data:`FRAGMENT_WORDS` words from ``start`` end (at most
    :data:`FRAGMENT_CHARS` characters on)."""
    return _FRAGMENT.match(text, start, start + FRAGMENT_CHARS).end()


def _needs_escaping(text: str) -> bool:
    """Whether ``text`` has characters HTML escapes, or the private-use marks."""
    return "&" in text or "<" in text or ">" in text or _OPEN in text or _CLOSE in text


def _lead(text: str) -> str:
    """The snippet of a text without hits: its first :data:`FRAGMENT_WORDS` words (as
    ``Snippets.render`` shows them)."""
    lead = text[: _forward(text, 0)]
    if _needs_escaping(lead):
        return html.escape(lead.replace(_OPEN, " ").replace(_CLOSE, " "), quote=False)
    return lead
