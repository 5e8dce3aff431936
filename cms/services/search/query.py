"""The search query language (the same on both databases): words, "phrases", prefix*, OR,
-exclusions; see ``service``'s docstring."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cms.errors import CmsError
from cms.text import QUERY_STOP_WORDS

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MIN_PREFIX_CHARS = 3


class InvalidSearch(CmsError):
    """A query that cannot be searched for (answered 400)."""

    status = 400
    type = "urn:cms:problem:invalid-search"


class QueryError(ValueError):
    pass


# --- query language ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    """Words matched as a phrase (one word: a plain term); ``prefix``: the last word is one."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """All groups are required; each group is satisfied by any of its atoms (``OR``).
    ``not_all``: groups an article must *not* satisfy all together (see :meth:`some_of_them`)."""

    required: tuple[tuple[Atom, ...], ...]
    excluded: tuple[Atom, ...] = ()
    text: str = ""
    not_all: tuple[tuple[Atom, ...], ...] = ()

    @property
    def atoms(self) -> list[Atom]:
        return [a for group in self.required for a in group] + list(self.excluded)

    def some_of_them(self) -> ParsedQuery | None:
        """The query met by an article that has some of the required atoms but not all of
        them (the exclusions kept): what a search lists after the articles that have them all;
        ``None`` for a query of one group, where there is no such article."""
        if len(self.required) < 2:
            return None
        return ParsedQuery(
            (tuple(a for group in self.required for a in group),),
            self.excluded,
            self.text,
            not_all=self.required,
        )

    def ranked(self) -> ParsedQuery:
        """The query its matches are ranked and marked by: without :attr:`not_all`, whose
        words are the ones searched for."""
        return ParsedQuery(self.required, self.excluded, self.text) if self.not_all else self


# Words too common to search for on their own (the short list of cms.text). Inside a quoted
# phrase they count. PostgreSQL drops its own stop words too; on SQLite, FTS5 keeps every word,
# and a query term found in nearly every article costs a scan of the whole index.
STOP_WORDS = QUERY_STOP_WORDS

_TOKEN = re.compile(r'(-?)"([^"]*)(?:"|$)|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def _atom(text: str, *, phrase: bool) -> Atom | None:
    words = tuple(w.lower() for w in _WORD.findall(text))
    prefix = not phrase and text.endswith("*")
    if not words or (len(words) == 1 and not phrase and not prefix and words[0] in STOP_WORDS):
        return None
    return Atom(words, prefix and len(words[-1]) >= MIN_PREFIX_CHARS)


def parse_query(text: str) -> ParsedQuery:
    """Parse what a reader typed; :class:`QueryError` when there is nothing to search for."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is too long; use at most {MAX_QUERY_CHARS} characters.")
    groups: list[list[Atom]] = []
    excluded: list[Atom] = []
    join_next = False  # the previous token was OR
    for match in _TOKEN.finditer(text):
        negated_phrase, phrase, bare = match.groups()
        if bare is not None and bare == "OR":
            join_next = bool(groups)
            continue
        negated = bool(negated_phrase) or (bare is not None and bare.startswith("-"))
        atom = (
            _atom(phrase, phrase=True)
            if phrase is not None
            else _atom(bare.lstrip("-") if negated else bare, phrase=False)
        )
        if atom is None:
            continue
        if negated:
            excluded.append(atom)
        elif join_next:
            groups[-1].append(atom)
        else:
            groups.append([atom])
        join_next = False
    if not groups:
        if excluded:
            raise QueryError("The query only excludes words; add a word to search for.")
        if _WORD.search(text):
            raise QueryError(
                "The query has only words too common to search for (like “the”); add a more "
                'specific word, or quote a phrase ("to be or not to be").'
            )
        raise QueryError("The query has no words to search for.")
    parsed = ParsedQuery(tuple(tuple(g) for g in groups), tuple(excluded), text)
    if len(parsed.atoms) > MAX_TERMS:
        raise QueryError(f"Too many search terms; use at most {MAX_TERMS}.")
    return parsed
