"""Bulk import of articles from JSON lines (``flask --app wsgi import FILE``).

Each line is one article in the body shape of ``POST /api/v1/editor/articles`` plus optional
``status`` (``draft`` or ``published``, default ``draft``) and ``published_at`` (RFC 3339; a
published article without it is published now, one with a future time is scheduled). Sections,
tags, authors and sources named by slug that do not exist yet are created, named after their
slug. A bad line is reported by its number and skipped; the others load.

Lines are loaded in batches, one transaction each. Everything a save keeps current is complete
when a batch commits, made for the whole batch at once with one statement per table rather
than through the session's hooks (which see ORM objects, and cost milliseconds per article):
the articles with their derived fields, taxonomy links, automatic summaries and first
revisions; the stored cards, search entries, events and taxonomy counts, each by its own module
with what its session hook uses (card builder, index SQL, event snapshot, count additions; see
``cms.services.derived.registry``), from the articles as built in memory
(:class:`~cms.services.content.articles.NewArticle`) instead of read back. The related-article
suggestions are recorded as derived-data jobs in the same commit
(:func:`cms.services.related.suggestions.enqueue`): the worker (or ``flask --app wsgi derived
run-pending``) computes them afterwards, a batch of articles at once, offering later articles
to the lists of earlier ones as single saves would.

With ``jobs`` > 1 the CPU work that needs no database (parsing, validation, the sanitized
body, the automatic summary) runs in worker processes while this one writes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import marshmallow as ma
import orjson
import sqlalchemy as sa

from cms.clock import utcnow
from cms.database import in_chunks, in_values
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    Revision,
    Section,
    SlugRedirect,
    Source,
    Summary,
    Tag,
    article_tags,
)
from cms.models.revision import NullableJSON
from cms.schemas.articles.editor import ArticleImport
from cms.services import generation
from cms.services.accounts import audit
from cms.services.content import articles, revisions
from cms.services.content.slugs import MAX_SLUG, slug_from_title
from cms.services.events import log as events
from cms.services.public import cards, counts
from cms.services.related import suggestions
from cms.services.search import index as search_index
from cms.services.visibility import listed_at_of

BATCH_SIZE = 500
# Lines handed to a worker process at once, and chunks kept in flight per process.
CHUNK = 50
_AHEAD = 4
_SCHEMA = ArticleImport()
_MODELS = {"sections": Section, "tags": Tag, "authors": Author, "sources": Source}


@dataclass
class LineError:
    line: int
    message: str


@dataclass
class ImportResult:
    loaded: int = 0
    seconds: float = 0.0
    errors: list[LineError] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.loaded / self.seconds if self.seconds else 0.0


def _flatten(messages, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict as ``path: message`` strings."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            path = str(key) if key != "_schema" else ""
            out += _flatten(value, f"{prefix}.{path}" if prefix and path else prefix or path)
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {m}" if prefix else m for m in messages]
    return [f"{prefix}: {messages}"]


def _parse(number: int, text: str) -> dict | LineError:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return LineError(number, f"not valid JSON ({exc})")
    if not isinstance(raw, dict):
        return LineError(number, "not a JSON object")
    try:
        return _SCHEMA.load(raw)
    except ma.ValidationError as exc:
        return LineError(number, "; ".join(_flatten(exc.messages)))


def _references(data: dict) -> dict[str, set[str]]:
    refs = {
        "sections": {data["section"]} if data.get("section") else set(),
        "tags": set(data.get("tags") or ()),
        "authors": set(data.get("authors") or ()),
        "sources": set(data.get("sources") or ()),
    }
    for block in data.get("body") or ():
        if block.get("attribution"):
            refs["sources"].add(block["attribution"]["source"])
    return refs


class _Slugs:
    """Slugs taken in the database or earlier in the file."""

    def __init__(self):
        self.taken: set[str] = set()

    def _in_database(self, candidates: set[str]) -> set[str]:
        found = set()
        ordered = sorted(candidates)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            found |= set(db.session.scalars(sa.select(Article.slug).where(Article.slug.in_(chunk))))
            found |= set(
                db.session.scalars(
                    sa.select(SlugRedirect.old_slug).where(SlugRedirect.old_slug.in_(chunk))
                )
            )
        return found

    def assign(self, batch: list[tuple[int, dict]]) -> list[tuple[int, dict, str] | LineError]:
        wanted = {data.get("slug") or slug_from_title(data["title"]) for _, data in batch}
        self.taken |= self._in_database(wanted - self.taken)
        out: list[tuple[int, dict, str] | LineError] = []
        for number, data in batch:
            slug = data.get("slug")
            if slug:
                if slug in self.taken:
                    out.append(LineError(number, f"slug: The slug '{slug}' is already in use."))
                    continue
            else:
                base = slug_from_title(data["title"])
                slug, n = base, 2
                while slug in self.taken:
                    suffix = f"-{n}"
                    slug = base[: MAX_SLUG - len(suffix)] + suffix
                    n += 1
                if slug != base and slug not in wanted:
                    # A numbered variant may exist in the database too.
                    while self._in_database({slug}):
                        self.taken.add(slug)
                        suffix = f"-{n}"
                        slug = base[: MAX_SLUG - len(suffix)] + suffix
                        n += 1
            self.taken.add(slug)
            out.append((number, data, slug))
        return out


def _name_of(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-"))


def _taxonomy(batch: list[tuple[int, dict, str]], known: dict[str, dict]) -> articles.Taxonomy:
    """Existing entries by slug, with the missing ones created (and flushed, for their ids)."""
    wanted: dict[str, set[str]] = {kind: set() for kind in _MODELS}
    for _, data, _ in batch:
        for kind, slugs in _references(data).items():
            wanted[kind] |= slugs
    created = False
    for kind, model in _MODELS.items():
        missing = wanted[kind] - known[kind].keys()
        if not missing:
            continue
        for obj in db.session.scalars(sa.select(model).where(model.slug.in_(sorted(missing)))):
            known[kind][obj.slug] = obj
        for slug in sorted(missing - known[kind].keys()):
            obj = model(slug=slug, name=_name_of(slug))
            db.session.add(obj)
            known[kind][slug] = obj
            created = True
    if created:
        db.session.flush()
    return articles.Taxonomy(**known)


def _lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield number, text


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


Prepared = tuple[int, dict, articles.PreparedBody]


def _prepare_chunk(chunk: list[tuple[int, str]]) -> list[Prepared | LineError]:
    """Parse and validate lines and do the CPU work of their articles that needs no database
    (sanitized body, text, automatic summary). Runs in the worker processes of ``jobs``."""
    out: list[Prepared | LineError] = []
    for number, text in chunk:
        outcome = _parse(number, text)
        if isinstance(outcome, LineError):
            out.append(outcome)
        else:
            out.append((number, outcome, articles.prepare(outcome)))
    return out


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _pool(jobs: int) -> ProcessPoolExecutor:
    # fork where it is the platform's way (Linux): workers start at once, without importing
    # the app again. They never use the parent's database connections, and leave by
    # ``os._exit``, which runs no finalizer that could close them.
    method = "fork" if sys.platform == "linux" else "spawn"
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method))


def _prepared(lines: Iterable[str], jobs: int, ahead: int) -> Iterator[Prepared | LineError]:
    """Every non-blank line prepared (or its error), in file order; with ``jobs`` > 1 the
    preparing is spread over that many processes, chunks of :data:`CHUNK` lines at a time,
    while this process writes; up to ``ahead`` chunks are in flight. Input of one chunk or
    less is prepared here."""
    chunks = _batches(_lines(lines), CHUNK)
    head = [chunk for _, chunk in zip(range(2), chunks, strict=False)]
    if jobs <= 1 or len(head) < 2:
        for chunk in (*head, *chunks):
            yield from _prepare_chunk(chunk)
        return
    pool = _pool(jobs)
    try:
        window: deque = deque(pool.submit(_prepare_chunk, chunk) for chunk in head)
        for chunk in chunks:
            window.append(pool.submit(_prepare_chunk, chunk))
            while len(window) >= ahead:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_ARTICLES = Article.__table__
# A missing hero image is SQL NULL, as when the ORM leaves the column out (not JSON null).
# Without RETURNING: with it, SQLAlchemy sends a batch as one statement of a few hundred kB
# (its "insertmanyvalues"), which psycopg spends ~0.3 ms per article taking apart; the ids
# are read back by slug instead.
_INSERT_ARTICLES = sa.insert(_ARTICLES).values(
    hero_image=sa.bindparam("hero_image", type_=NullableJSON)
)
_REVISION_CHANGED = ["slug", "status", *revisions.CONTENT_FIELDS]


def _load_batch(
    parsed: list[Prepared], slugs: _Slugs, known: dict[str, dict], now: datetime
) -> tuple[list[articles.NewArticle], list[LineError]]:
    errors: list[LineError] = []
    ready: list[tuple[int, dict, str]] = []
    prepared = {number: body for number, _, body in parsed}
    for item in slugs.assign([(number, data) for number, data, _ in parsed]):
        if isinstance(item, LineError):
            errors.append(item)
        else:
            ready.append(item)
    if not ready:
        return [], errors
    taxonomy = _taxonomy(ready, known)
    made = []
    for number, data, slug in ready:
        published_at = None
        if data["status"] == "published":
            published_at = data["published_at"] or now
        made.append(
            articles.new_article(
                data,
                taxonomy,
                slug=slug,
                now=now,
                prepared=prepared[number],
                published_at=published_at,
            )
        )
    _write(made, now)
    return made, errors


def _write(made: list[articles.NewArticle], now: datetime) -> None:
    """Insert the new articles and everything a save derives from them at once (statements
    per batch, not per article): links, summaries, first revisions, cards, search entries,
    events, counts, and the related-suggestion jobs."""
    session = db.session
    connection = session.connection()
    connection.execute(_INSERT_ARTICLES, [article.row() for article in made])
    ids = {}
    for slugs in in_chunks(connection, [article.slug for article in made]):
        slug_in = in_values(connection, _ARTICLES.c.slug, slugs)
        for slug, id_ in connection.execute(
            sa.select(_ARTICLES.c.slug, _ARTICLES.c.id).where(slug_in)
        ):
            ids[slug] = id_
    for article in made:
        article.id = ids[article.slug]
    tags, authors, sources, summaries = [], [], [], []
    for a in made:
        listed = listed_at_of(a.status, a.published_at)
        tags += [{"article_id": a.id, "tag_id": t.id, "listed_at": listed} for t in a.tags]
        authors += [
            {"article_id": a.id, "author_id": author.id, "position": n, "listed_at": listed}
            for n, author in enumerate(a.authors)
        ]
        sources += [
            {
                "article_id": a.id,
                "source_id": source.id,
                "explicit": explicit,
                "position": n,
                "listed_at": listed,
            }
            for n, (source, explicit) in enumerate(a.source_links)
        ]
        if a.summary is not None:
            summaries.append({**a.summary, "article_id": a.id, "origin": "auto", "created_at": now})
    for table, rows in (
        (article_tags, tags),
        (ArticleAuthor.__table__, authors),
        (ArticleSource.__table__, sources),
        (Summary.__table__, summaries),
    ):
        if rows:
            connection.execute(sa.insert(table), rows)
    connection.execute(
        sa.insert(Revision.__table__),
        [
            {
                "article_id": a.id,
                "number": 1,
                "article_version": a.version,
                "kind": "import",
                "changed": _REVISION_CHANGED,
                "status": a.status,
                "snapshot": revisions.content_of(a),
                "actor_id": None,
                "created_at": now,
            }
            for a in made
        ],
    )
    cards.store(made)
    search_index.index_new(connection, [a.id for a in made])
    parts = {
        a.id: events.Parts(
            [a.summary["tldr"], a.summary["key_points"]] if a.summary else None, [], []
        )
        for a in made
    }
    events.announce_new(session, made, parts)
    suggestions.enqueue(a.id for a in made)
    counts.count_new(connection, made)
    generation.mark_changed(session)


def import_lines(
    lines: Iterable[str],
    *,
    batch_size: int = BATCH_SIZE,
    jobs: int = 1,
    on_batch=None,
) -> ImportResult:
    """Load articles from JSON lines; each batch is committed. ``jobs`` > 1 prepares the
    articles (parsing, body, summary) in that many worker processes while this one writes.
    ``on_batch(result)`` reports progress after every commit."""
    result = ImportResult()
    started = time.perf_counter()
    slugs = _Slugs()
    known: dict[str, dict] = {kind: {} for kind in _MODELS}
    # Enough chunks in flight that the workers go on while a whole batch is written.
    ahead = max(jobs * _AHEAD, batch_size // CHUNK + jobs)
    for batch in _batches(_prepared(lines, jobs, ahead), batch_size):
        now = utcnow()
        parsed: list[Prepared] = []
        for outcome in batch:
            if isinstance(outcome, LineError):
                result.errors.append(outcome)
            else:
                parsed.append(outcome)
        try:
            made, errors = _load_batch(parsed, slugs, known, now)
            if made:
                audit.log("article.import", "article", None, None, {"count": len(made)})
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        result.errors += errors
        result.loaded += len(made)
        result.seconds = time.perf_counter() - started
        # Objects of a committed batch are not needed again: keep memory flat.
        db.session.expunge_all()
        for kind in known:
            known[kind] = {}
        if on_batch is not None:
            on_batch(result)
    result.errors.sort(key=lambda e: e.line)
    result.seconds = time.perf_counter() - started
    return result
