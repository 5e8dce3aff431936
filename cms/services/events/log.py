"""The event log: each public article event, written in the transaction of its change.

Which event a commit produces is decided by comparison, not by each write path remembering to
emit one: ``article_event_states`` holds what the log last told the public about each article
(visible or not, a fingerprint of its public content, slug, section, tags). Before a commit,
every article the transaction touched (itself, its links, summary, related links, a renamed
section or tag) is compared with that state:

- not visible before, visible now: ``article.published``;
- visible before, not now: ``article.unpublished`` with a reason (``unpublished``, ``archived``,
  ``deleted``, or what a service gave with :func:`record`);
- visible both times, fingerprint changed: ``article.updated``.

A scheduled article becomes visible when its time comes, with no write: the worker's
:func:`publish_due` touches every due scheduled article the state does not yet know as
visible, and the same comparison emits ``article.published`` once (the state row's lock
makes a second worker find nothing to say).

The events are numbered by the content generation's bump (``cms.services.generation``): the
same statement reserves their sequences on the generation row, under its lock, so ``sequence``
grows in commit order without gaps.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from cms.clock import utcnow
from cms.database import insert_rows, upsert
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleEventState,
    ArticleSource,
    Author,
    Correction,
    Event,
    EventTopic,
    RelatedLink,
    Section,
    Source,
    Summary,
    Tag,
)
from cms.services import generation
from cms.services.public.taxonomies import ARTICLES_OF
from cms.services.visibility import is_public
from cms.text import rfc3339

PUBLISHED = "article.published"
UPDATED = "article.updated"
UNPUBLISHED = "article.unpublished"
CORRECTED = "article.corrected"
EVENT_TYPES = (PUBLISHED, UPDATED, UNPUBLISHED, CORRECTED)

_TOUCHED = "cms_events_touched"  # session.info: article ids to compare at commit
_EXPLICIT = "cms_events_explicit"  # session.info: {article_id: {"corrected": bool, "reason"}}
_PENDING = "cms_events_pending"  # session.info: events decided, numbered after the bump
_WRITTEN = "cms_events_written"  # session.info: the events went with the bump's statement
_FINGERPRINTS = "cms_events_fingerprints"  # session.info: states claimed, fingerprint to write
_LIKELY_NEW = "cms_events_likely_new"  # session.info: ids whose publication may be announced
_INSERTED = "cms_events_inserted"  # session.info: ids of articles this transaction inserted
_BULK = "cms_events_bulk"  # session.info: a bulk import's events, stored by ``write`` with COPY


def record(session: Session, type_: str, article: Article, reason: str | None = None) -> None:
    """Tell the log about a change that comparison cannot see or name.

    - ``article.corrected`` (a correction was appended): emitted at commit if the article is
      public then; it replaces the ``article.updated`` the same commit would give.
    - ``article.unpublished`` with a ``reason`` (``legal``, ``expired`` ...): the reason of the
      event, if the article leaves public view in this commit.

    ``article.published`` and ``article.updated`` are never recorded by hand: the commit
    compares the article with what was last announced.
    """
    if type_ not in (CORRECTED, UNPUBLISHED):
        raise ValueError(f"{type_} is derived at commit; record only corrected or unpublished")
    explicit = session.info.setdefault(_EXPLICIT, {}).setdefault(
        article.id, {"corrected": False, "reason": None}
    )
    if type_ == CORRECTED:
        explicit["corrected"] = True
    else:
        explicit["reason"] = reason
    touch(session, [article.id])


def touch(session: Session, article_ids) -> None:
    """Compare these articles with their announced state at the next commit."""
    session.info.setdefault(_TOUCHED, set()).update(i for i in article_ids if i is not None)


# --- what the public sees of an article ----------------------------------------------------


@dataclass
class Snapshot:
    visible: bool
    slug: str | None = None
    section: dict | None = None
    tags: list[dict] = field(default_factory=list)
    fingerprint: str | None = None
    data: dict = field(default_factory=dict)


def article_url(article: Article) -> str:
    """The article's front-end URL (``CMS_ARTICLE_URL_TEMPLATE`` when set), else its API path."""
    template = current_app.config.get("CMS_ARTICLE_URL_TEMPLATE") if has_app_context() else None
    if template:
        site = current_app.config.get("CMS_SITE_URL", "").rstrip("/")
        section = article.section.slug if article.section else ""
        return template.format(site_url=site, slug=article.slug, section=section)
    return f"/api/v1/articles/{article.slug}"


@dataclass
class Parts:
    """What the fingerprint needs beyond the article row and its eager relations."""

    summary: list | None
    related: list[tuple]
    corrections: list[int]


_PARTS = ("summary", "related_links", "corrections")
_CLAIMED = 3  # the relation of the claim's rows in ``_PG_CLAIM_AND_PARTS``
_IDS = sa.bindparam("ids", expanding=True)
_NO_TEXT = sa.null().cast(sa.String)
_NO_NUMBER = sa.null().cast(sa.Integer)
_NO_POINTS = sa.null().cast(Summary.__table__.c.key_points.type)
_summary_t, _link_t, _correction_t = (
    Summary.__table__,
    RelatedLink.__table__,
    Correction.__table__,
)
# The three relations in one statement (one round trip), each ordered as its relationship.
_PARTS_SQL = sa.union_all(
    sa.select(
        sa.literal(0).label("relation"),
        _summary_t.c.article_id,
        sa.literal(0).label("o1"),
        sa.literal(0).label("o2"),
        _summary_t.c.tldr.label("text1"),
        _NO_TEXT.label("text2"),
        _NO_TEXT.label("text3"),
        _NO_NUMBER.label("number"),
        _summary_t.c.key_points.label("points"),
    ).where(_summary_t.c.article_id.in_(_IDS)),
    sa.select(
        sa.literal(1),
        _link_t.c.article_id,
        _link_t.c.position,
        _link_t.c.id,
        _link_t.c.url,
        _link_t.c.title,
        _link_t.c.label,
        _link_t.c.target_id,
        _NO_POINTS,
    ).where(_link_t.c.article_id.in_(_IDS)),
    sa.select(
        sa.literal(2),
        _correction_t.c.article_id,
        _correction_t.c.id,
        sa.literal(0),
        _NO_TEXT,
        _NO_TEXT,
        _NO_TEXT,
        _correction_t.c.id,
        _NO_POINTS,
    ).where(_correction_t.c.article_id.in_(_IDS), _correction_t.c.hidden_at.is_(None)),
).order_by("relation", "article_id", "o1", "o2")


def _parts_from(rows, ids) -> dict[int, Parts]:
    out = {i: Parts(None, [], []) for i in ids}
    for row in rows:
        if row.relation == _CLAIMED:
            # The claim's rows name every article claimed, also those whose parts the session
            # has loaded (not among ``ids``).
            continue
        parts = out[row.article_id]
        if row.relation == 0:
            parts.summary = [row.text1, row.points]
        elif row.relation == 1:
            parts.related.append((row.number, row.text1, row.text2, row.text3))
        elif row.relation == 2:
            parts.corrections.append(row.number)
    return out


def _parts_of(session: Session, articles: list[Article], read: dict | None = None):
    """The parts of these articles: from the session where it has them loaded, the rest from
    ``read`` (rows read already) or one query."""
    if read is None:
        unloaded = [a.id for a in articles if not sa.inspect(a).unloaded.isdisjoint(_PARTS)]
        read = (
            _parts_from(session.execute(_PARTS_SQL, {"ids": unloaded}), unloaded)
            if (unloaded)
            else {}
        )
    out = {}
    for article in articles:
        state = sa.inspect(article)
        parts = out[article.id] = read.get(article.id) or Parts(None, [], [])
        # Loaded in the session (flushed, so as in the database): taken as they are.
        if "summary" not in state.unloaded:
            summary = article.summary
            parts.summary = [summary.tldr, summary.key_points] if summary is not None else None
        if "related_links" not in state.unloaded:
            parts.related = [(r.target_id, r.url, r.title, r.label) for r in article.related_links]
        if "corrections" not in state.unloaded:
            parts.corrections = [c.id for c in article.corrections if c.hidden_at is None]
    return out


def snapshot(article: Article | None, now: datetime, parts: Parts | None = None) -> Snapshot:
    if article is None or not is_public(article, now):
        return Snapshot(visible=False)
    if parts is None:
        parts = _parts_of(sa.inspect(article).session, [article])[article.id]
    section = (
        {"slug": article.section.slug, "name": article.section.name} if article.section else None
    )
    tags = [{"slug": t.slug, "name": t.name} for t in article.tags]
    content = [
        article.slug,
        article.title,
        article.subtitle,
        article.excerpt,
        article.language,
        article.body,
        article.hero_image,
        article.canonical_url,
        rfc3339(article.published_at),
        section,
        tags,
        [(a.slug, a.name) for a in article.authors],
        [(s.slug, s.name) for s in article.sources],
        parts.summary,
        parts.related,
        parts.corrections,  # shown on the detail
    ]
    fingerprint = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)).hexdigest()
    data = {
        "id": article.id,
        "slug": article.slug,
        "section": section,
        "tags": tags,
        "url": article_url(article),
        "published_at": rfc3339(article.published_at),
        "updated_at": rfc3339(article.updated_at),
    }
    return Snapshot(True, article.slug, section, tags, fingerprint, data)


def cache_tags(article_id: int, sections, tags) -> list[str]:
    """What a CDN purges for an event: the article, the sections and tags it was or is in, and
    every list."""
    out = [f"article:{article_id}"]
    out += [f"section:{s}" for s in dict.fromkeys(sections) if s]
    out += [f"tag:{t}" for t in dict.fromkeys(tags) if t]
    return [*out, "list"]


# --- deciding the events of a commit --------------------------------------------------------


def _reason_for(article: Article | None) -> str:
    if article is None:
        return "deleted"
    if article.status == "archived":
        return "archived"
    return "unpublished"


def _lock_states(session: Session, ids: list[int]) -> dict[int, ArticleEventState]:
    rows = session.scalars(
        sa.select(ArticleEventState)
        .where(ArticleEventState.article_id.in_(ids))
        .order_by(ArticleEventState.article_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.article_id: row for row in rows}


def _load_articles(session: Session, ids: list[int]) -> dict[int, Article]:
    """The articles still there; those the session holds already cost no query."""
    found, missing = {}, []
    for i in ids:
        obj = session.identity_map.get(identity_key(Article, i))
        if obj is not None and obj not in session.deleted and not sa.inspect(obj).deleted:
            found[i] = obj
        else:
            missing.append(i)
    if missing:
        found.update(
            (a.id, a) for a in session.scalars(sa.select(Article).where(Article.id.in_(missing)))
        )
    return found


def decide(session: Session) -> None:
    """``before_commit``: compare the touched articles with their state; keep the events."""
    if session.in_nested_transaction():
        return
    session.flush()
    touched = session.info.pop(_TOUCHED, set())
    explicit = session.info.pop(_EXPLICIT, {})
    likely_new = session.info.pop(_LIKELY_NEW, set())
    inserted = session.info.pop(_INSERTED, set())
    if not touched:
        return
    now = utcnow()
    ids = sorted(touched)
    with session.no_autoflush:
        articles = _load_articles(session, ids)
        visible = {i for i in ids if i in articles and is_public(articles[i], now)}
        parts: dict[int, Parts] = {}
        claimed: set[int] = set()
        # An article this transaction published (or whose time came) has, nearly always, no
        # state yet, or one that is not visible: claim it at once, without reading it first
        # (and read its parts in the same statement where the database allows).
        first = [i for i in ids if i in likely_new and i in visible]
        if first:
            claimed, parts = _claim(session, [articles[i] for i in first], read_parts=True)
        rest = [i for i in ids if i not in claimed]
        # An article this transaction inserted has no state for another one to have written.
        stated = [i for i in rest if i not in inserted]
        states = _lock_states(session, stated) if stated else {}
        unread = [articles[i] for i in rest if i in visible and i not in parts]
        if unread:
            parts.update(_parts_of(session, unread))
        snaps = {i: snapshot(articles.get(i), now, parts.get(i)) for i in ids}
        new_ids = [i for i in rest if i not in states and i in visible]
        if new_ids:
            # First announcement. A concurrent transaction that inserted the state first makes
            # this one wait, claim nothing, and read what it said.
            got, _ = _claim(session, [articles[i] for i in new_ids], read_parts=False)
            claimed |= got
            taken = [i for i in new_ids if i not in got]
            if taken:
                states.update(_lock_states(session, taken))
    pending = session.info.setdefault(_PENDING, [])
    fingerprints = session.info.setdefault(_FINGERPRINTS, [])
    for i in ids:
        state = states.get(i)
        snap = snaps[i]
        was_visible = state is not None and state.visible
        wanted = explicit.get(i, {})
        old_sections = [state.section] if was_visible and state.section else []
        old_tags = list(state.tags or []) if was_visible else []
        new_sections = [snap.section["slug"]] if snap.visible and snap.section else []
        new_tags = [t["slug"] for t in snap.tags]
        event = None
        if was_visible and not snap.visible:
            article = articles.get(i)
            event = {
                "type": UNPUBLISHED,
                "article": {"id": i, "slug": article.slug if article else state.slug},
                "reason": wanted.get("reason") or _reason_for(article),
            }
            new_sections, new_tags = [], []
        elif snap.visible and not was_visible:
            event = _published(snap, articles[i].published_at, now)
            old_sections, old_tags = [], []
        elif snap.visible and (wanted.get("corrected") or snap.fingerprint != state.fingerprint):
            data = dict(snap.data)
            if state.slug and state.slug != snap.slug:
                data["previous_slug"] = state.slug
            event = {"type": CORRECTED if wanted.get("corrected") else UPDATED, "article": data}
        if event is not None:
            pending.append(
                _completed(event, i, now, (old_sections, new_sections), (old_tags, new_tags))
            )
        if i in claimed:
            fingerprints.append({"article_id": i, "fingerprint": snap.fingerprint})
            continue
        if state is None:
            continue
        if articles.get(i) is None:
            session.delete(state)
        else:
            state.visible = snap.visible
            state.fingerprint = snap.fingerprint if snap.visible else None
            state.slug = snap.slug or state.slug
            state.section = snap.section["slug"] if snap.section else None
            state.tags = [t["slug"] for t in snap.tags]
    if pending:
        session.flush()
        generation.reserve_events(session, len(pending))


def _published(snap: Snapshot, published_at: datetime | None, now: datetime) -> dict:
    """``article.published`` of an article now visible (a scheduled one became visible at its
    publication time)."""
    occurred = published_at if published_at and published_at < now else now
    return {"type": PUBLISHED, "article": snap.data, "occurred_at": occurred}


def _completed(event: dict, article_id: int, now: datetime, sections, tags) -> dict:
    """The event with what every event carries: its article, topics and cache tags, from the
    article's (before, now) sections and tags."""
    (old_sections, new_sections), (old_tags, new_tags) = sections, tags
    event.setdefault("occurred_at", now)
    event.setdefault("reason", None)
    event["article_id"] = article_id
    event["topics"] = _topics(old_sections, new_sections, "section") + _topics(
        old_tags, new_tags, "tag"
    )
    event["cache_tags"] = cache_tags(article_id, old_sections + new_sections, old_tags + new_tags)
    return event


def announce_new(session: Session, articles: list, parts: dict[int, Parts]) -> int:
    """A bulk import: the articles were inserted in this transaction (no state, no ORM object
    the hooks see). Those public now get their ``article.published`` and their state, as
    :func:`decide` would give them at commit; the others wait, as after a save (a scheduled
    one is announced by :func:`publish_due`). ``articles`` need what :func:`snapshot` reads;
    ``parts``: their summaries (and no curated links or corrections). Returns how many."""
    now = utcnow()
    pending = session.info.setdefault(_PENDING, [])
    states = []
    for article in articles:
        snap = snapshot(article, now, parts[article.id])
        if not snap.visible:
            continue
        section = [snap.section["slug"]] if snap.section else []
        tags = [t["slug"] for t in snap.tags]
        event = _published(snap, article.published_at, now)
        pending.append(_completed(event, article.id, now, ([], section), ([], tags)))
        states.append(
            {
                "article_id": article.id,
                "visible": True,
                "fingerprint": snap.fingerprint,
                "slug": snap.slug,
                "section": section[0] if section else None,
                "tags": tags,
            }
        )
    if states:
        insert_rows(session.connection(), ArticleEventState.__table__, states)
        session.info[_BULK] = True
        generation.reserve_events(session, len(pending))
    return len(states)


def _claim(
    session: Session, articles: list[Article], *, read_parts: bool
) -> tuple[set[int], dict[int, Parts]]:
    """Mark these articles, public now, as announced: insert their state, or turn a state that
    is not visible visible; their fingerprint is written with the events (``write``). Returns
    the ids claimed (each is an ``article.published``; a state that was visible is left alone
    and must be compared) and, with ``read_parts``, the articles' parts.

    On PostgreSQL the claim and the parts are one statement (a data-modifying ``WITH``)."""
    unloaded = [a.id for a in articles if not sa.inspect(a).unloaded.isdisjoint(_PARTS)]
    if session.get_bind().dialect.name == "postgresql":
        parameters = {
            "claim_id": [a.id for a in articles],
            "claim_slug": [a.slug for a in articles],
            "claim_section": [a.section.slug if a.section else None for a in articles],
            "claim_tags": [orjson.dumps([t.slug for t in a.tags]).decode() for a in articles],
        }
        if read_parts and unloaded:
            rows = session.execute(_PG_CLAIM_AND_PARTS, {**parameters, "ids": unloaded}).all()
            claimed = {row.article_id for row in rows if row.relation == _CLAIMED}
            return claimed, _parts_of(session, articles, _parts_from(rows, unloaded))
        claimed = set(session.scalars(_PG_CLAIM, parameters))
        return claimed, _parts_of(session, articles) if read_parts else {}
    insert = upsert(session, ArticleEventState.__table__).values(
        [
            {
                "article_id": a.id,
                "visible": True,
                "fingerprint": None,
                "slug": a.slug,
                "section": a.section.slug if a.section else None,
                "tags": [t.slug for t in a.tags],
            }
            for a in articles
        ]
    )
    claimed = set(session.scalars(_claiming(insert, insert.excluded)))
    return claimed, _parts_of(session, articles) if read_parts else {}


def _claiming(insert, excluded):
    """The claim's conflict clause: a state that is not visible is taken over, a visible one
    left as it is (and not returned)."""
    states = ArticleEventState.__table__
    return insert.on_conflict_do_update(
        index_elements=[states.c.article_id],
        set_={
            "visible": True,
            "fingerprint": None,
            "slug": excluded.slug,
            "section": excluded.section,
            "tags": excluded.tags,
        },
        where=states.c.visible.is_(False),
    ).returning(states.c.article_id)


# PostgreSQL: statements built once, whatever the number of rows (arrays, unnested), so they
# are compiled once and cached.
def _unnest(name: str, **columns) -> sa.TableValuedAlias:
    return (
        sa.func.unnest(
            *(
                sa.bindparam(f"{name}_{column}", type_=postgresql.ARRAY(type_))
                for column, type_ in columns.items()
            )
        )
        .table_valued(*columns)
        .render_derived(name=name)
    )


_claim_given = _unnest("claim", id=sa.Integer, slug=sa.String, section=sa.String, tags=sa.Text)
_pg_claim_insert = postgresql.insert(ArticleEventState.__table__).from_select(
    ["article_id", "visible", "fingerprint", "slug", "section", "tags"],
    sa.select(
        _claim_given.c.id,
        sa.true(),
        sa.null(),
        _claim_given.c.slug,
        _claim_given.c.section,
        sa.cast(_claim_given.c.tags, postgresql.JSONB),
    ),
)
_PG_CLAIM = _claiming(_pg_claim_insert, _pg_claim_insert.excluded)
_pg_claimed = _PG_CLAIM.cte("claimed")
_PG_CLAIM_AND_PARTS = sa.union_all(
    *_PARTS_SQL.selects,
    sa.select(
        sa.literal(_CLAIMED),
        _pg_claimed.c.article_id,
        sa.literal(0),
        sa.literal(0),
        _NO_TEXT,
        _NO_TEXT,
        _NO_TEXT,
        _NO_NUMBER,
        _NO_POINTS,
    ),
)


def _topics(before: list[str], now: list[str], kind: str) -> list[tuple]:
    return [(kind, slug, slug in before, slug in now) for slug in dict.fromkeys(before + now)]


def _rows(pending: list[dict], first_sequence: int, generation_value) -> tuple[list, list]:
    """The events' rows and their topics' rows (``position``: the event's place in the commit,
    from 1; its sequence is ``first_sequence + position``)."""
    recorded = utcnow()
    rows, topics = [], []
    for position, event in enumerate(pending, 1):
        event["id"] = "evt_" + uuid.uuid4().hex
        rows.append(
            {
                "position": position,
                "sequence": first_sequence + position,
                "event_id": event["id"],
                "generation": generation_value,
                "type": event["type"],
                "article_id": event["article_id"],
                "occurred_at": event["occurred_at"],
                "recorded_at": recorded,
                "article": event["article"],
                "reason": event["reason"],
                "cache_tags": event["cache_tags"],
            }
        )
        topics += [
            {
                "position": position,
                "kind": k,
                "slug": s,
                "sequence": first_sequence + position,
                "in_before": b,
                "in_now": n,
            }
            for k, s, b, n in event["topics"]
        ]
    return rows, topics


def ride(session: Session, bump: sa.Insert, parameters: dict):
    """PostgreSQL, as the generation's bump rider: the statement that bumps the generation and,
    in the same round trip, writes the commit's events (numbered from the sequence the bump
    reserves, in SQL), their topics and the claimed states' fingerprints. ``None`` when there
    is nothing to write, on SQLite or for a bulk import's events (``write`` stores them then)."""
    pending = session.info.get(_PENDING)
    if not pending or session.get_bind().dialect.name != "postgresql":
        return None
    if session.info.get(_BULK):
        # Hundreds of events: as rows of a COPY (``write``) they cost the writer and the
        # server a fraction of what the arrays of this statement do.
        return None
    rows, topics = _rows(pending, 0, None)
    session.info[_WRITTEN] = True
    return _pg_ride(bump), {
        **parameters,
        "ride_events": len(pending),
        **_arrays("event", rows, _EVENT_COLUMNS),
        **_arrays("topic", topics, _TOPIC_COLUMNS),
        **_arrays(
            "fingerprint", session.info.pop(_FINGERPRINTS, []), ("article_id", "fingerprint")
        ),
    }


def write(session: Session, bumped: generation.Bumped) -> list[dict]:
    """Right after the generation bump, under its lock: number the decided events with the
    sequences the bump reserved, and store them (unless they went with the bump: ``ride``);
    returns them."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return []
    if len(pending) != bumped.events:
        raise RuntimeError(f"{len(pending)} events to write, {bumped.events} sequences reserved")
    first = bumped.event_sequence - bumped.events
    if session.info.pop(_WRITTEN, False):
        for position, event in enumerate(pending, 1):
            event["sequence"] = first + position
        return pending
    rows, topics = _rows(pending, first, bumped.value)
    for event, row in zip(pending, rows, strict=True):
        event["sequence"] = row["sequence"]
    rows = [{k: v for k, v in r.items() if k != "position"} for r in rows]
    topics = [{k: v for k, v in t.items() if k != "position"} for t in topics]
    if session.info.pop(_BULK, False):
        connection = session.connection()
        insert_rows(connection, Event.__table__, rows)
        insert_rows(connection, EventTopic.__table__, topics)
    else:
        session.execute(sa.insert(Event), rows)
        if topics:
            session.execute(sa.insert(EventTopic), topics)
    fingerprints = session.info.pop(_FINGERPRINTS, [])
    if fingerprints:
        session.execute(_fingerprint_update(fingerprints))
    return pending


_EVENT_COLUMNS = {
    "position": sa.Integer,
    "event_id": sa.String,
    "type": sa.String,
    "article_id": sa.Integer,
    "occurred_at": sa.DateTime,
    "recorded_at": sa.DateTime,
    "article": sa.Text,
    "reason": sa.String,
    "cache_tags": sa.Text,
}
_TOPIC_COLUMNS = {
    "position": sa.Integer,
    "kind": sa.String,
    "slug": sa.String,
    "in_before": sa.Boolean,
    "in_now": sa.Boolean,
}


def _arrays(name: str, rows: list[dict], columns) -> dict:
    """Rows as one array per column, the parameters of an ``_unnest``."""
    out = {}
    for column in columns:
        values = [row[column] for row in rows]
        if column in ("occurred_at", "recorded_at"):
            values = [v.astimezone(UTC).replace(tzinfo=None) for v in values]
        elif column in ("article", "cache_tags"):
            values = [orjson.dumps(v).decode() for v in values]
        out[f"{name}_{column}"] = values
    return out


_RIDES: dict[int, sa.Select] = {}


def _pg_ride(bump: sa.Insert) -> sa.Select:
    """``WITH bumped AS (<bump>), written AS (INSERT INTO events ...), ... SELECT <the bump's
    row>``, built once. The foreign keys of the topics are checked at the statement's end."""
    statement = _RIDES.get(id(bump))
    if statement is not None:
        return statement
    bumped = bump.cte("bumped")
    given = _unnest("event", **_EVENT_COLUMNS)
    topic = _unnest("topic", **_TOPIC_COLUMNS)
    fingerprint = _unnest("fingerprint", article_id=sa.Integer, fingerprint=sa.String)
    first = bumped.c.event_sequence - sa.bindparam("ride_events", type_=sa.BigInteger)
    states = ArticleEventState.__table__
    written = sa.insert(Event.__table__).from_select(
        [
            "sequence",
            "event_id",
            "generation",
            "type",
            "article_id",
            "occurred_at",
            "recorded_at",
            "article",
            "reason",
            "cache_tags",
        ],
        sa.select(
            first + given.c.position,
            given.c.event_id,
            bumped.c.value,
            given.c.type,
            given.c.article_id,
            given.c.occurred_at,
            given.c.recorded_at,
            sa.cast(given.c.article, postgresql.JSONB),
            given.c.reason,
            sa.cast(given.c.cache_tags, postgresql.JSONB),
        ).select_from(bumped.join(given, sa.true())),
    )
    topics = sa.insert(EventTopic.__table__).from_select(
        ["kind", "slug", "sequence", "in_before", "in_now"],
        sa.select(
            topic.c.kind, topic.c.slug, first + topic.c.position, topic.c.in_before, topic.c.in_now
        ).select_from(bumped.join(topic, sa.true())),
    )
    fingerprinted = (
        sa.update(states)
        .where(states.c.article_id == fingerprint.c.article_id)
        .values(fingerprint=fingerprint.c.fingerprint)
    )
    statement = _RIDES[id(bump)] = (
        sa.select(bumped.c.value, bumped.c.event_sequence, bumped.c.webhooks_version)
        .add_cte(written.cte("written"))
        .add_cte(topics.cte("topics_written"))
        .add_cte(fingerprinted.cte("fingerprinted"))
    )
    return statement


def _fingerprint_update(fingerprints: list[dict]) -> sa.Update:
    table = ArticleEventState.__table__
    given = {f["article_id"]: f["fingerprint"] for f in fingerprints}
    return (
        sa.update(table)
        .where(table.c.article_id.in_(list(given)))
        .values(fingerprint=sa.case(given, value=table.c.article_id))
    )


def public_event(event: dict | Event) -> dict:
    """The event as the feed and webhooks show it."""
    if isinstance(event, Event):
        return {
            "id": event.event_id,
            "sequence": event.sequence,
            "type": event.type,
            "occurred_at": rfc3339(event.occurred_at),
            "article": event.article,
            "reason": event.reason,
            "cache_tags": event.cache_tags,
        }
    return {
        "id": event["id"],
        "sequence": event["sequence"],
        "type": event["type"],
        "occurred_at": rfc3339(event["occurred_at"]),
        "article": event["article"],
        "reason": event["reason"],
        "cache_tags": event["cache_tags"],
    }


def as_seen_through(event: dict, matched_before: bool, matched_now: bool) -> dict | None:
    """The event as a consumer filtered by a section or tag sees it, or ``None`` (unseen).

    An article that left the filter reads as ``article.unpublished`` (reason ``moved``); one
    that entered it as ``article.published``. The feed's SQL (``feed.effective_type``) says
    the same."""
    if matched_now and event["type"] != UNPUBLISHED:
        if not matched_before and event["type"] == UPDATED:
            return {**event, "type": PUBLISHED}
        return event
    if matched_before:
        if event["type"] == UNPUBLISHED:
            return event
        return {
            **event,
            "type": UNPUBLISHED,
            "article": {"id": event["article"]["id"], "slug": event["article"]["slug"]},
            "reason": "moved",
        }
    return None


# --- scheduled publications ----------------------------------------------------------------


def publish_due(session: Session, limit: int = 500) -> int:
    """Touch every scheduled article whose time has come and whose publication the log has not
    announced; the commit emits their ``article.published``. Returns how many were due."""
    now = utcnow()
    announced = sa.select(ArticleEventState.article_id).where(
        ArticleEventState.article_id == Article.id, ArticleEventState.visible.is_(True)
    )
    ids = session.scalars(
        sa.select(Article.id)
        .where(Article.status == "scheduled", Article.published_at <= now)
        .where(~sa.exists(announced))
        .order_by(Article.published_at, Article.id)
        .limit(limit)
    ).all()
    touch(session, ids)
    session.info.setdefault(_LIKELY_NEW, set()).update(ids)
    return len(ids)


# --- session hooks ---------------------------------------------------------------------------

_TAXONOMIES = (Section, Tag, Author, Source)
_CHILDREN = (ArticleAuthor, ArticleSource, Summary, RelatedLink)
def listen(session_factory) -> None:
    """Note the articles each flush touches; decide their events before commit."""

    @sa.event.listens_for(session_factory, "before_flush")
    def _note_deleted_taxonomies(session: Session, _context, _instances):
        deleted = [obj for obj in session.deleted if isinstance(obj, _TAXONOMIES)]
        if deleted:
            with session.no_autoflush:
                for obj in deleted:
                    touch(session, session.scalars(ARTICLES_OF[type(obj)](obj.id)))

    @sa.event.listens_for(session_factory, "after_flush")
    def _note(session: Session, _context):
        ids = set()
        likely_new = session.info.setdefault(_LIKELY_NEW, set())
        inserted = session.info.setdefault(_INSERTED, set())
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Article):
                ids.add(obj.id)
                if obj in session.new:
                    inserted.add(obj.id)
                if obj in session.new or (
                    obj in session.dirty and sa.inspect(obj).attrs.status.history.has_changes()
                ):
                    likely_new.add(obj.id)
            elif isinstance(obj, _CHILDREN):
                ids.add(obj.article_id)
            elif isinstance(obj, _TAXONOMIES) and obj in session.dirty and session.is_modified(obj):
                ids.update(session.scalars(ARTICLES_OF[type(obj)](obj.id)))
        touch(session, ids)

    @sa.event.listens_for(session_factory, "before_commit")
    def _decide(session: Session):
        decide(session)

    @sa.event.listens_for(session_factory, "after_rollback")
    def _forget(session: Session):
        for key in (
            _TOUCHED,
            _EXPLICIT,
            _PENDING,
            _FINGERPRINTS,
            _LIKELY_NEW,
            _INSERTED,
            _WRITTEN,
            _BULK,
        ):
            session.info.pop(key, None)
