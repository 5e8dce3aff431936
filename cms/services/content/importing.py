"""Bulk import of articles from JSON lines (``flask --app wsgi import FILE``).

Each line is one article in the body shape of ``POST /api/v1/editor/articles`` plus optional
``status`` (``draft`` or ``published``, default ``draft``) and ``published_at`` (RFC 3339; a
published article without it is published now, one with a future time is scheduled). Sections,
tags, authors and sources named by slug that do not exist yet are created, named after their
slug. A bad line is reported by its number and skipped; the others load.

Lines are loaded in batches, one transaction each. Everything a save keeps current is complete
when a batch commits, made for the whole batch at once with one statement per table rather
than through the session's hooks (which see ORM objects, and cost milliseconds per article),
on PostgreSQL a ``COPY`` where the rows are new (:func:`cms.database.insert_rows`):
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
body, the automatic summary) runs in worker processes while this one writes. Each chunk of a
batch is parsed first (what the batch's slugs and new taxonomy entries need: those are created
for the whole batch before its first article, in the same order as when nothing overlaps),
then prepared by the same process. While the workers are still preparing the last batch, the
articles built so far are written in pieces of at least :data:`PIECE` inside its transaction
(its events and counts once, at its end), so that little is left to write when they finish;
the rows are the same as when the batch is written whole. The workers run at a lower priority
(:data:`WORKER_NICE`): the writing process is the one that keeps up or leaves a tail to write
on one core at the end, and they use what it leaves of the CPUs.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import marshmallow as ma
import orjson
import sqlalchemy as sa

from cms.clock import utcnow
from cms.database import in_chunks, in_values, insert_rows
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
# Fewest articles written at once while the workers are still preparing the batch.
PIECE = 100
# How much lower the worker processes' priority is than the writing process's.
WORKER_NICE = 10
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
        for chunk in in_chunks(db.session, ordered):
            found |= set(
                db.session.scalars(
                    sa.select(Article.slug).where(in_values(db.session, Article.slug, chunk))
                )
            )
            found |= set(
                db.session.scalars(
                    sa.select(SlugRedirect.old_slug).where(
                        in_values(db.session, SlugRedirect.old_slug, chunk)
                    )
                )
            )
        return found

    def assign(self, batch: list[tuple[int, dict]]) -> list[tuple[int, dict, str] | LineError]:
        # A line's own slug, or the one its title gives (made once: slugify is not cheap).
        bases = {n: data.get("slug") or slug_from_title(data["title"]) for n, data in batch}
        wanted = set(bases.values())
        self.taken |= self._in_database(wanted - self.taken)
        out: list[tuple[int, dict, str] | LineError] = []
        for number, data in batch:
            slug = data.get("slug")
            if slug:
                if slug in self.taken:
                    out.append(LineError(number, f"slug: The slug '{slug}' is already in use."))
                    continue
            else:
                base = bases[number]
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


Parsed = tuple[int, dict]


def _scan(chunk: list[tuple[int, str]]) -> list[Parsed | LineError]:
    out: list[Parsed | LineError] = []
    for number, text in chunk:
        outcome = _parse(number, text)
        out.append(outcome if isinstance(outcome, LineError) else (number, outcome))
    return out


# In a worker process: chunks parsed by ``_scan_chunk`` and not yet prepared, by key.
_SCANNED: dict[int, list[Parsed | LineError]] = {}


def _scan_chunk(key: int, chunk: list[tuple[int, str]]) -> list[Parsed | LineError]:
    """Parse and validate lines: what a batch needs before its first article is written
    (slugs, taxonomy entries). Runs in a worker process, which keeps the result for
    ``_prepare_chunk`` of the same ``key``."""
    _SCANNED[key] = out = _scan(chunk)
    return out


def _prepare_chunk(key: int, chunk: list[tuple[int, str]]) -> list[articles.PreparedBody | None]:
    """The CPU work of the lines' articles that needs no database (sanitized body, text,
    automatic summary); ``None`` for a line that is not valid. Runs in the worker process that
    parsed the chunk (``_scan_chunk``)."""
    parsed = _SCANNED.pop(key, None)
    if parsed is None:
        parsed = _scan(chunk)
    return [
        None if isinstance(outcome, LineError) else articles.prepare(outcome[1])
        for outcome in parsed
    ]


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _pool(jobs: int) -> list[ProcessPoolExecutor]:
    """``jobs`` worker processes, each its own executor: a chunk is parsed and prepared by
    the same process, which keeps what it parsed in between."""
    # fork where it is the platform's way (Linux): workers start at once, without importing
    # the app again. They never use the parent's database connections, and leave by
    # ``os._exit``, which runs no finalizer that could close them.
    method = "fork" if sys.platform == "linux" else "spawn"
    context = multiprocessing.get_context(method)
    return [ProcessPoolExecutor(1, context, initializer=_lower_priority) for _ in range(jobs)]


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        os.nice(WORKER_NICE)


class _Batch:
    """The lines of one batch, parsed and prepared by the worker processes ``pool`` (every
    chunk of :data:`CHUNK` lines by one of them, in turn: all the batch's chunks parsed
    first, then prepared), or here without a pool."""

    def __init__(
        self, lines: list[tuple[int, str]], pool: list[ProcessPoolExecutor], keys: Iterator[int]
    ):
        self.lines = lines
        # The last batch: written in pieces while the workers are still preparing it.
        self.last = False
        self._scans: list[Future] = []
        self._bodies: list[Future] = []
        self._where: dict[int, tuple[int, int]] = {}
        if pool:
            chunks = [(next(keys), chunk) for chunk in _batches(lines, CHUNK)]
            for key, chunk in chunks:
                self._scans.append(pool[key % len(pool)].submit(_scan_chunk, key, chunk))
            for key, chunk in chunks:
                self._bodies.append(pool[key % len(pool)].submit(_prepare_chunk, key, chunk))
            self._where = {
                number: (k, i)
                for k, (_, chunk) in enumerate(chunks)
                for i, (number, _) in enumerate(chunk)
            }

    def outcomes(self) -> list[Parsed | LineError]:
        """Every line parsed (or its error), in file order."""
        if not self._scans:
            return _scan(self.lines)
        return [outcome for scan in self._scans for outcome in scan.result()]

    def body(self, number: int, data: dict) -> articles.PreparedBody:
        """The prepared body of line ``number`` (parsed as ``data``), waiting for it."""
        if not self._bodies:
            return articles.prepare(data)
        k, i = self._where[number]
        return self._bodies[k].result()[i]

    def waiting_for(self, number: int) -> bool:
        """Whether this is the last batch and line ``number``'s body is still being prepared
        (the workers have nothing else to do: what is built meanwhile is written; before,
        they prepare the next batches while this one is written whole)."""
        return self.last and bool(self._bodies) and not self._bodies[self._where[number][0]].done()


def _batches_prepared(lines: Iterable[str], batch_size: int, jobs: int) -> Iterator[_Batch]:
    """The non-blank lines in batches of ``batch_size``; with ``jobs`` > 1 parsed and
    prepared in that many worker processes, batches handed to them ahead so that about
    ``jobs`` × :data:`_AHEAD` chunks, and at least a batch, wait beyond the one being
    written. Input of one chunk or less is prepared here."""
    numbered = _lines(lines)
    head = list(itertools.islice(numbered, CHUNK + 1))
    numbered = itertools.chain(head, numbered)
    if jobs <= 1 or len(head) <= CHUNK:
        for batch in _batches(numbered, batch_size):
            yield _Batch(batch, [], iter(()))
        return
    ahead = max(jobs * _AHEAD * CHUNK, batch_size + jobs * CHUNK)
    pool = _pool(jobs)
    keys = itertools.count()
    try:
        waiting: deque[_Batch] = deque()
        for lines_of_batch in _batches(numbered, batch_size):
            waiting.append(_Batch(lines_of_batch, pool, keys))
            while sum(len(b.lines) for b in waiting) - len(waiting[0].lines) >= ahead:
                yield waiting.popleft()
        while waiting:
            batch = waiting.popleft()
            batch.last = not waiting
            yield batch
    finally:
        for executor in pool:
            executor.shutdown(wait=True, cancel_futures=True)


_ARTICLES = Article.__table__
# A missing hero image is SQL NULL, as when the ORM leaves the column out (not JSON null).
_ARTICLE_TYPES = {"hero_image": NullableJSON}
_REVISION_CHANGED = ["slug", "status", *revisions.CONTENT_FIELDS]


def _load_batch(
    batch: _Batch, parsed: list[Parsed], slugs: _Slugs, known: dict[str, dict], now: datetime
) -> tuple[list[articles.NewArticle], list[LineError]]:
    errors: list[LineError] = []
    ready: list[tuple[int, dict, str]] = []
    for item in slugs.assign(parsed):
        if isinstance(item, LineError):
            errors.append(item)
        else:
            ready.append(item)
    if not ready:
        return [], errors
    taxonomy = _taxonomy(ready, known)
    made: list[articles.NewArticle] = []
    written = 0
    for k, (number, data, slug) in enumerate(ready):
        published_at = None
        if data["status"] == "published":
            published_at = data["published_at"] or now
        made.append(
            articles.new_article(
                data,
                taxonomy,
                slug=slug,
                now=now,
                prepared=batch.body(number, data),
                published_at=published_at,
            )
        )
        # The workers are still preparing the last batch: write what is built meanwhile.
        if (
            len(made) - written >= PIECE
            and k + 1 < len(ready)
            and batch.waiting_for(ready[k + 1][0])
        ):
            _write_articles(made[written:], now)
            written = len(made)
    _write_articles(made[written:], now)
    _write_batch(made)
    return made, errors


def _write_articles(made: list[articles.NewArticle], now: datetime) -> None:
    """Insert new articles and what a save derives from each at once (statements per piece
    of a batch, not per article): links, summaries, first revisions, cards, search entries
    and the related-suggestion jobs."""
    session = db.session
    connection = session.connection()
    # Without RETURNING (COPY has none): the ids are read back by slug.
    insert_rows(connection, _ARTICLES, [article.row() for article in made], _ARTICLE_TYPES)
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
        insert_rows(connection, table, rows)
    insert_rows(
        connection,
        Revision.__table__,
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
    suggestions.enqueue(a.id for a in made)


def _write_batch(made: list[articles.NewArticle]) -> None:
    """What a batch's articles, all written, add at once: events, counts, generation."""
    session = db.session
    parts = {
        a.id: events.Parts(
            [a.summary["tldr"], a.summary["key_points"]] if a.summary else None, [], []
        )
        for a in made
    }
    events.announce_new(session, made, parts)
    counts.count_new(session.connection(), made)
    generation.mark_changed(session)


_LZ4: dict[str, bool] = {}


def _compress_cheaply(session) -> None:
    """PostgreSQL built with LZ4: the long values of this transaction (bodies, HTML, text,
    revisions, cards) are compressed by LZ4 instead of the default pglz, which costs the
    server several times as much CPU (the same values are read back; either method can be
    read, and later saves use the server's default again)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    url = str(session.get_bind().url)
    if url not in _LZ4:
        _LZ4[url] = bool(
            session.scalar(
                sa.text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                    " WHERE name = 'default_toast_compression'"
                )
            )
        )
    if _LZ4[url]:
        session.execute(sa.text("SET LOCAL default_toast_compression = 'lz4'"))


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
    # What exists before the import (the app, its modules) is left out of the cyclic garbage
    # collector's full passes, here and in the forked workers.
    gc.freeze()
    try:
        _import(lines, batch_size, jobs, on_batch, result, started)
    finally:
        gc.unfreeze()
    result.errors.sort(key=lambda e: e.line)
    result.seconds = time.perf_counter() - started
    return result


def _import(lines, batch_size: int, jobs: int, on_batch, result: ImportResult, started: float):
    slugs = _Slugs()
    known: dict[str, dict] = {kind: {} for kind in _MODELS}
    for batch in _batches_prepared(lines, batch_size, jobs):
        parsed: list[Parsed] = []
        for outcome in batch.outcomes():
            if isinstance(outcome, LineError):
                result.errors.append(outcome)
            else:
                parsed.append(outcome)
        now = utcnow()
        try:
            _compress_cheaply(db.session)
            made, errors = _load_batch(batch, parsed, slugs, known, now)
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
