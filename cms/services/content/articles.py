"""Creating, editing and deleting articles (no HTTP here).

Each function checks the actor's permission first, then changes the session; the caller
commits (the unit of work stays visible in the view or CLI command).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from cms.auth.permissions import authorize, has_role
from cms.clock import utcnow
from cms.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    Correction,
    Section,
    SlugRedirect,
    Source,
    Tag,
    User,
)
from cms.pagination import Page, keyset_page
from cms.services.accounts import audit
from cms.services.content import revisions
from cms.services.content.rendering import (
    RenderedBody,
    make_excerpt,
    prepare_body,
    render_body,
    with_html,
)
from cms.services.content.slugs import slug_from_title, slug_taken, unique_slug
from cms.services.public.loaders import CARD_LOADERS
from cms.services.related import suggestions
from cms.services.search import index as search_index
from cms.services.summaries import service as summaries
from cms.services.summaries.summarizer import summarize

_EDITOR_READ = (sa.orm.joinedload(Article.summary), sa.orm.joinedload(Article.tags))
# Changes to these make the related-article suggestions be recomputed.
TOPIC_FIELDS = {"title", "subtitle", "body", "tags", "section", "sources", "authors", "language"}


def get_article(article_id: int) -> Article:
    """The article, with its summary and tags (which every editor answer shows) in the same
    statement: one row per tag, where a collection more would multiply the rows."""
    article = db.session.get(Article, article_id, options=_EDITOR_READ)
    if article is None:
        raise NotFound(f"There is no article {article_id}.")
    return article


def _by_slugs(model, slugs: list[str], field: str, noun: str, found: dict | None = None) -> list:
    """The entries of ``slugs``, in order; ``found``: those already read, by slug."""
    if not slugs:
        return []
    if found is None:
        found = {
            obj.slug: obj
            for obj in db.session.scalars(sa.select(model).where(model.slug.in_(slugs)))
        }
    errors = {
        f"{field}.{i}": [f"Unknown {noun} '{slug}'."]
        for i, slug in enumerate(slugs)
        if slug not in found
    }
    if errors:
        raise ValidationFailed(f"Unknown {noun} in {field}.", errors=errors)
    return [found[s] for s in dict.fromkeys(slugs)]


def _block_sources(body: list[dict]) -> dict[str, list[str]]:
    """Source slugs attributed by blocks, with the error path of each use."""
    uses: dict[str, list[str]] = {}
    for i, block in enumerate(body):
        if block.get("attribution"):
            uses.setdefault(block["attribution"]["source"], []).append(
                f"body.{i}.attribution.source"
            )
    return uses


@dataclass
class _Resolved:
    section: Section | None = None
    tags: list | None = None
    authors: list | None = None
    explicit_sources: list | None = None
    cited_sources: list | None = None


def _resolve(data: dict) -> _Resolved:
    r = _Resolved()
    if "section" in data:
        section = data["section"]
        if section:
            r.section = db.session.scalar(sa.select(Section).where(Section.slug == section))
            if r.section is None:
                # ``section`` is a single slug, so its error path is the field itself.
                raise ValidationFailed(
                    "Unknown section.", errors={"section": [f"Unknown section '{section}'."]}
                )
    if "tags" in data:
        r.tags = _by_slugs(Tag, data["tags"], "tags", "tag")
    if "authors" in data:
        r.authors = _by_slugs(Author, data["authors"], "authors", "author")
    uses = _block_sources(data["body"]) if "body" in data else {}
    # The sources named by the field and by the blocks, read at once.
    wanted = set(uses) | set(data.get("sources") or ())
    query = sa.select(Source).where(Source.slug.in_(sorted(wanted)))
    sources = {s.slug: s for s in db.session.scalars(query)} if wanted else {}
    if "sources" in data:
        r.explicit_sources = _by_slugs(Source, data["sources"], "sources", "source", sources)
    if "body" in data:
        if uses:
            found = sources
            errors = {
                path: [f"Unknown source '{slug}'."]
                for slug, paths in uses.items()
                if slug not in found
                for path in paths
            }
            if errors:
                raise ValidationFailed("Unknown source in a block attribution.", errors=errors)
            r.cited_sources = [found[s] for s in uses]
        else:
            r.cited_sources = []
    return r


def _set_sources(article: Article, explicit: list[Source], cited: list[Source]) -> None:
    wanted: dict[int, tuple[Source, bool]] = {}
    for src in explicit:
        wanted[src.id] = (src, True)
    for src in cited:
        wanted.setdefault(src.id, (src, False))
    existing = {link.source_id: link for link in article.source_links}
    links = []
    for position, (source_id, (src, explicit_flag)) in enumerate(wanted.items()):
        link = existing.get(source_id) or ArticleSource(source=src, source_id=source_id)
        link.explicit = explicit_flag
        link.position = position
        links.append(link)
    article.source_links = links


def _set_authors(article: Article, authors: list[Author]) -> None:
    existing = {link.author_id: link for link in article.author_links}
    links = []
    for position, author in enumerate(authors):
        link = existing.get(author.id) or ArticleAuthor(author=author, author_id=author.id)
        link.position = position
        links.append(link)
    article.author_links = links


def _apply(
    article: Article,
    data: dict,
    resolved: _Resolved,
    *,
    now: datetime,
    prepared: PreparedBody | None = None,
) -> list[str]:
    """Write ``data`` onto ``article``; return the names of the fields that changed.
    ``prepared``: what :func:`prepare_body` made of ``data`` beforehand (a bulk import)."""
    changed = []
    for name in ("title", "subtitle", "language", "hero_image", "canonical_url"):
        if name in data and getattr(article, name) != data[name]:
            setattr(article, name, data[name])
            changed.append(name)
    if "excerpt" in data and article.custom_excerpt != data["excerpt"]:
        article.custom_excerpt = data["excerpt"] or None
        changed.append("excerpt")
    if "section" in data and article.section is not resolved.section:
        article.section = resolved.section
        changed.append("section")
    if resolved.tags is not None and [t.id for t in article.tags] != [t.id for t in resolved.tags]:
        article.tags = sorted(resolved.tags, key=lambda t: t.slug)
        changed.append("tags")
    if resolved.authors is not None and [a.id for a in article.authors] != [
        a.id for a in resolved.authors
    ]:
        _set_authors(article, resolved.authors)
        changed.append("authors")

    source_names = {}
    body_changed = False
    if "body" in data:
        cited = resolved.cited_sources or []
        source_names = {s.slug: s.name for s in cited}
        rendered = (
            with_html(prepared.body, source_names)
            if prepared is not None
            else render_body(data["body"], source_names)
        )
        if rendered.blocks != article.body:
            article.body = rendered.blocks
            article.body_html = rendered.html
            article.body_text = rendered.text
            article.word_count = rendered.word_count
            article.reading_time_minutes = rendered.reading_time_minutes
            article.body_revision = (article.body_revision or 0) + 1 if article.id else 1
            body_changed = True
            changed.append("body")
    if resolved.explicit_sources is not None or resolved.cited_sources is not None:
        explicit = (
            resolved.explicit_sources
            if resolved.explicit_sources is not None
            else article.explicit_sources
        )
        cited = (
            resolved.cited_sources
            if resolved.cited_sources is not None
            else [link.source for link in article.source_links if not link.explicit]
        )
        before = [(link.source_id, link.explicit) for link in article.source_links]
        _set_sources(article, explicit, cited)
        after = [(link.source_id, link.explicit) for link in article.source_links]
        if before != after and "sources" in data:
            changed.append("sources")

    excerpt = _excerpt(article.custom_excerpt, _first_paragraph(article), article.body_text)
    if excerpt != article.excerpt:
        article.excerpt = excerpt
    if body_changed or "title" in changed:
        made = prepared.summary if prepared is not None else None
        summaries.refresh_auto_summary(article, now=now, made=made)
    if changed:
        article.updated_at = now
        search_index.index_article(article)
    return changed


def _excerpt(custom: str | None, first_paragraph: str, body_text: str) -> str:
    """The excerpt: the editor's, else the start of the first paragraph (or of the text)."""
    lead = body_text.split("\n\n", 1)[0] if body_text else ""
    return custom or make_excerpt(first_paragraph or lead)


def _first_paragraph(article: Article) -> str:
    from cms.services.content.rendering import block_text

    return next((block_text(b) for b in article.body or [] if b["type"] == "paragraph"), "")


@dataclass(frozen=True)
class PreparedBody:
    """The costly part of a new article's derived fields, computed from its validated create
    body alone (no database, no app): sanitized blocks, text, counts and the automatic
    summary. A bulk import makes these in other processes; :func:`new_article` completes them
    (HTML with the cited sources' names)."""

    body: RenderedBody  # without its HTML
    summary: dict


def prepare(data: dict) -> PreparedBody:
    """:class:`PreparedBody` of a validated create body (as ``_apply`` would compute it)."""
    body = prepare_body(data.get("body") or [])
    # As ``summaries.generate`` on the new article: its title, stored blocks and language.
    summary = summarize(data["title"], body.blocks, data.get("language") or "en")
    return PreparedBody(body, summary)


@dataclass
class Taxonomy:
    """Sections, tags, authors and sources by slug, for building many articles at once."""

    sections: dict[str, Section]
    tags: dict[str, Tag]
    authors: dict[str, Author]
    sources: dict[str, Source]


@dataclass(slots=True)
class NewArticle:
    """A new article built in memory for a bulk insert (:func:`new_article`): its columns
    (:meth:`row`), and what the card, the first revision and the event log read of an
    :class:`Article` (``card_data``, ``revisions.content_of``, ``events.snapshot``), as a
    save would have left them."""

    slug: str
    title: str
    subtitle: str
    language: str
    hero_image: dict | None
    canonical_url: str | None
    custom_excerpt: str | None
    excerpt: str
    body: list[dict]
    body_html: str
    body_text: str
    word_count: int
    reading_time_minutes: int
    status: str
    published_at: datetime | None
    created_at: datetime
    section: Section | None
    tags: list[Tag]  # by slug, as the relationship orders them
    authors: list[Author]
    source_links: list[tuple[Source, bool]]  # (source, explicit), in position order
    summary: dict | None  # the automatic summary's fields, if the body makes one
    id: int | None = None
    version: int = 1
    body_revision: int = 1

    @property
    def first_published_at(self) -> datetime | None:
        return self.published_at

    @property
    def updated_at(self) -> datetime:
        return self.created_at

    @property
    def sources(self) -> list[Source]:
        return [source for source, _ in self.source_links]

    @property
    def explicit_sources(self) -> list[Source]:
        return [source for source, explicit in self.source_links if explicit]

    def row(self) -> dict:
        """The ``articles`` row (without ``id``)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "subtitle": self.subtitle,
            "section_id": self.section.id if self.section is not None else None,
            "language": self.language,
            "status": self.status,
            "published_at": self.published_at,
            "first_published_at": self.published_at,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "hero_image": self.hero_image,
            "canonical_url": self.canonical_url,
            "custom_excerpt": self.custom_excerpt,
            "excerpt": self.excerpt,
            "body": self.body,
            "body_html": self.body_html,
            "body_text": self.body_text,
            "word_count": self.word_count,
            "reading_time_minutes": self.reading_time_minutes,
            "version": self.version,
            "body_revision": self.body_revision,
            "created_by_id": None,
        }


def new_article(
    data: dict,
    taxonomy: Taxonomy,
    *,
    slug: str,
    now: datetime,
    prepared: PreparedBody,
    published_at: datetime | None = None,
) -> NewArticle:
    """A new article from a validated create body whose references are all in ``taxonomy``
    (bulk import: no lookups, no session), with the derived fields and automatic summary of
    a create; published (or scheduled) at ``published_at`` when given, else a draft."""
    cited = [taxonomy.sources[s] for s in _block_sources(data.get("body") or [])]
    sources: dict[str, tuple[Source, bool]] = {}
    for source_slug in dict.fromkeys(data.get("sources") or []):
        sources[source_slug] = (taxonomy.sources[source_slug], True)
    for source in cited:
        sources.setdefault(source.slug, (source, False))
    body = with_html(prepared.body, {s.slug: s.name for s in cited})
    status = "draft"
    if published_at is not None:
        status = "scheduled" if published_at > now else "published"
    made = prepared.summary
    return NewArticle(
        slug=slug,
        title=data["title"],
        subtitle=data["subtitle"],
        language=data["language"],
        hero_image=data["hero_image"],
        canonical_url=data["canonical_url"],
        custom_excerpt=data["excerpt"] or None,
        excerpt=_excerpt(data["excerpt"] or None, body.lead, body.text),
        body=body.blocks,
        body_html=body.html,
        body_text=body.text,
        word_count=body.word_count,
        reading_time_minutes=body.reading_time_minutes,
        status=status,
        published_at=published_at,
        created_at=now,
        section=taxonomy.sections[data["section"]] if data["section"] else None,
        tags=sorted((taxonomy.tags[s] for s in dict.fromkeys(data["tags"])), key=lambda t: t.slug),
        authors=[taxonomy.authors[s] for s in dict.fromkeys(data["authors"])],
        source_links=list(sources.values()),
        summary=summaries.auto_fields(made, 1, now) if made["tldr"] else None,
    )


def create_article(data: dict, *, actor: User) -> Article:
    authorize(actor, "article:create")
    now = utcnow()
    slug = data.get("slug")
    if slug:
        if slug_taken(slug):
            raise Conflict(
                f"The slug '{slug}' is already used by another article.",
                errors={"slug": ["Already in use."]},
            )
    else:
        slug = unique_slug(slug_from_title(data["title"]))
    if not data.get("authors") and actor.author is not None:
        data = {**data, "authors": [actor.author.slug]}
    resolved = _resolve(data)
    article = Article(
        slug=slug,
        status="draft",
        created_at=now,
        updated_at=now,
        created_by_id=actor.id,
        body=[],
        body_html="",
        body_text="",
        excerpt="",
        body_revision=1,
    )
    db.session.add(article)
    changed = _apply(article, {k: v for k, v in data.items() if k != "slug"}, resolved, now=now)
    db.session.flush()
    suggestions.update_article_suggestions(article, new=True)
    revisions.record(article, actor, "create", ["slug", *changed])
    audit.log("article.create", "article", article.id, actor, {"title": article.title})
    return article


def check_version(article: Article, expected: int) -> None:
    """Refuse a write made against an older version than the stored one."""
    if article.version != expected:
        raise PreconditionFailed(
            f"The article changed since version {expected}; it is at version {article.version}. "
            "Reload it, reapply your change and send the new version.",
            current_version=article.version,
            changed_since=revisions.changed_since(article.id, expected),
        )


def flush_guarded(article: Article, expected: int) -> None:
    """Flush, turning a concurrent update (another writer won) into 412."""
    article_id = article.id
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise PreconditionFailed(
            f"The article changed while you were saving version {expected}. Reload and retry.",
            changed_since=revisions.changed_since(article_id, expected),
        ) from exc


def update_article(
    article: Article,
    data: dict,
    *,
    actor: User,
    expected_version: int,
    revision_kind: str = "edit",
    revision_detail: dict | None = None,
) -> list[str]:
    """Apply ``data``; recorded as a revision of ``revision_kind`` (``restore`` from revisions)."""
    authorize(actor, "article:edit", article)
    check_version(article, expected_version)
    now = utcnow()
    resolved = _resolve(data)
    changed = []
    # No flush before flush_guarded: a concurrent winner must surface there, as a 412.
    with db.session.no_autoflush:
        if "slug" in data and data["slug"] != article.slug:
            change_slug(article, data["slug"])
            changed.append("slug")
        fields = {k: v for k, v in data.items() if k != "slug"}
        changed += _apply(article, fields, resolved, now=now)
        if changed:
            article.updated_at = now
    flush_guarded(article, expected_version)
    if set(changed) & TOPIC_FIELDS:
        suggestions.update_article_suggestions(article)
    if changed or revision_kind != "edit":
        revisions.record(article, actor, revision_kind, changed, revision_detail)
    action = "article.update" if revision_kind == "edit" else f"article.{revision_kind}"
    audit.log(action, "article", article.id, actor, {"changed": changed, **(revision_detail or {})})
    return changed


def restore(article: Article, number: int, *, actor: User, expected_version: int) -> list[str]:
    """Bring back the content of revision ``number`` (status stays); itself a new revision."""
    authorize(actor, "article:edit", article)
    content = revisions.content_to_restore(article, number)
    return update_article(
        article,
        content,
        actor=actor,
        expected_version=expected_version,
        revision_kind="restore",
        revision_detail={"restored_from": number},
    )


def change_slug(article: Article, new_slug: str) -> None:
    if slug_taken(new_slug, exclude_article_id=article.id):
        raise Conflict(
            f"The slug '{new_slug}' is used by another article, now or before.",
            errors={"slug": ["Already in use."]},
        )
    old = article.slug
    # The article may be taking back one of its own former slugs.
    redirect = db.session.get(SlugRedirect, new_slug)
    if redirect is not None:
        db.session.delete(redirect)
    if article.first_published_at is not None:
        db.session.add(SlugRedirect(old_slug=old, article_id=article.id, created_at=utcnow()))
    article.slug = new_slug


def delete_article(article: Article, *, actor: User) -> None:
    """Delete an article; not one with corrections (the log is kept) or one taken down (its
    URLs keep answering 410)."""
    authorize(actor, "article:delete", article)
    if article.status == "taken_down":
        raise Conflict(
            "A taken-down article is kept so that its URLs keep answering 410 Gone.",
            current_status=article.status,
        )
    has_corrections = db.session.scalar(
        sa.select(sa.exists().where(Correction.article_id == article.id))
    )
    if has_corrections:
        raise Conflict(
            "This article has corrections, which are never deleted; take it down instead.",
            current_status=article.status,
        )
    audit.log("article.delete", "article", article.id, actor, {"slug": article.slug})
    db.session.delete(article)


def list_for_editor(
    actor: User, filters: dict, *, limit: int, cursor: list | None = None, count: bool = False
) -> Page:
    """Articles in every status, newest first (by id); writers see only their own."""
    query = sa.select(Article)
    if not has_role(actor, "editor"):
        query = query.where(Article.created_by_id == actor.id)
    if "status" in filters:
        query = query.where(_status_is(filters["status"], utcnow()))
    if "created_by" in filters:
        query = query.where(Article.created_by_id == filters["created_by"])
    if "section" in filters:
        query = query.join(Section, Article.section_id == Section.id).where(
            Section.slug == filters["section"]
        )
    if "author" in filters:
        query = query.where(
            sa.exists()
            .where(ArticleAuthor.article_id == Article.id)
            .where(ArticleAuthor.author_id == Author.id, Author.slug == filters["author"])
        )
    if "q" in filters:
        query = query.where(Article.title.ilike(f"%{_escape_like(filters['q'])}%", escape="\\"))
    return keyset_page(
        query.options(*CARD_LOADERS),
        Article.id,
        descending=True,
        limit=limit,
        cursor=cursor,
        count=count,
    )


def _status_is(status: str, now: datetime) -> sa.ColumnElement[bool]:
    """Filter by the status editors see: a scheduled article whose time has come is published."""
    due = sa.and_(Article.status == "scheduled", Article.published_at <= now)
    if status == "published":
        return sa.or_(Article.status == "published", due)
    if status == "scheduled":
        return sa.and_(Article.status == "scheduled", sa.not_(due))
    return Article.status == status


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
