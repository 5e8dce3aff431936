"""Everything kept current when content changes, in the order it runs, and how to rebuild it.

``create_app`` calls :func:`install` once: it puts the write-time hooks on the app's session:
the corrections guard, then the entries of :data:`DERIVED` in order, then the content
generation (last: its row lock orders content commits, and the events are numbered right after
its bump). Nothing is installed by importing a module.

``flask --app wsgi rebuild [NAME ...|all]`` calls :func:`rebuild` for the named entries (after
a bulk SQL load, an upgrade, or to repair): every entry with a ``rebuild`` is listed here and
nowhere else.

What is derived, and who keeps it current:

- **search**: the full-text index entry of each article, written in the flush that changes the
  article (or a tag it carries).
- **counts**: the article counts of sections, tags, authors and sources, and the copies of
  visibility on the link rows; adjusted in the flush.
- **cards**: the stored public JSON card of each article, built before the commit.
- **related**: similarity features and suggested related articles. A save recomputes the
  article's own list; offering it to other articles' lists (and its embedding with the semantic
  backend) is a job in ``derived_jobs`` that the worker runs (:mod:`cms.services.derived.jobs`).
- **events**: the event log behind the change feed and webhooks, written in the transaction
  of the change. It has no rebuild: an event log records what happened.

A bulk import (:mod:`cms.services.content.importing`) inserts its batches without ORM objects,
so the hooks do not see them; it writes the same derived data itself, through each entry's
module: ``cards.store``, ``index.index_new``, ``counts.count_new``, ``log.announce_new`` and
``suggestions.enqueue``.

Summaries are written by the save itself (:mod:`cms.services.summaries.service`): an
automatic summary is regenerated when the body changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cms.extensions import db
from cms.services import events, generation
from cms.services.distribution import corrections
from cms.services.public import cards, counts
from cms.services.related import suggestions
from cms.services.search import index as search_index


@dataclass(frozen=True)
class Derived:
    name: str
    what: str
    listen: Callable[[Any], None] | None
    rebuild: Callable[[bool], str] | None


def _rebuild_search(_only_missing: bool) -> str:
    return f"Indexed {search_index.rebuild_index()} articles for search."


def _rebuild_counts(_only_missing: bool) -> str:
    counts.recount(db.session.connection())
    return "Recounted the articles of every section, tag, author and source."


def _rebuild_cards(only_missing: bool) -> str:
    return f"Stored {cards.rebuild_all(only_missing=only_missing)} article cards."


def _rebuild_related(_only_missing: bool) -> str:
    return f"Recomputed suggestions for {suggestions.rebuild_all()} articles."


DERIVED: tuple[Derived, ...] = (
    Derived("search", "the full-text search index", search_index.listen, _rebuild_search),
    Derived("counts", "taxonomy counts and their link copies", counts.listen, _rebuild_counts),
    Derived("cards", "the stored JSON card of each article", cards.listen, _rebuild_cards),
    Derived("related", "features and suggested related articles", None, _rebuild_related),
    Derived("events", "the event log (change feed, webhooks)", events.listen, None),
)
REBUILDABLE = tuple(entry.name for entry in DERIVED if entry.rebuild is not None)
# Rebuilding only what is missing is offered where it can be told apart from what is current.
ONLY_MISSING = ("cards",)


_installed: set[int] = set()


def install(session_factory) -> None:
    """Install every write-time hook on ``session_factory``, in order (once per process: the
    tests create many apps over one session factory)."""
    if id(session_factory) in _installed:
        return
    _installed.add(id(session_factory))
    # The append-only guard of corrections first: it refuses a bad flush before anything
    # derived from it is noted.
    corrections.guard(session_factory)
    for entry in DERIVED:
        if entry.listen is not None:
            entry.listen(session_factory)
    generation.listen(session_factory, then=events.write, rider=events.log.ride)


def rebuild(names: list[str], *, only_missing: bool = False) -> list[str]:
    """Rebuild the named entries (``all``: every one, in registry order) in the caller's
    transaction; one message per entry. The caller commits."""
    wanted = REBUILDABLE if "all" in names else tuple(n for n in REBUILDABLE if n in names)
    unknown = set(names) - {"all", *REBUILDABLE}
    if unknown:
        raise ValueError(f"nothing to rebuild named {', '.join(sorted(unknown))}")
    if only_missing and set(wanted) - set(ONLY_MISSING):
        raise ValueError(f"--missing applies to {', '.join(ONLY_MISSING)} only")
    return [entry.rebuild(only_missing) for entry in DERIVED if entry.name in wanted]
