"""The editorial workflow: ``draft → in_review → scheduled | published → archived`` and back.

Each action is a plain function: permission check, transition check, then the change. The API,
the CLI and tests call them alike; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import InvalidTransition
from cms.models import Article, User
from cms.services.accounts import audit
from cms.services.content import revisions
from cms.services.content.articles import check_version, flush_guarded
from cms.services.related import suggestions


@dataclass(frozen=True)
class Action:
    name: str
    from_statuses: frozenset[str]


ACTIONS = {
    a.name: a
    for a in (
        Action("submit", frozenset({"draft"})),
        Action("publish", frozenset({"draft", "in_review", "scheduled"})),
        Action("unpublish", frozenset({"published", "scheduled"})),
        Action("archive", frozenset({"published"})),
        Action("restore-draft", frozenset({"in_review", "archived"})),
    )
}


def allowed_actions(article: Article, now: datetime | None = None) -> list[str]:
    status = article.effective_status(now or utcnow())
    return [name for name, action in ACTIONS.items() if status in action.from_statuses]


def _check_transition(article: Article, name: str, now: datetime) -> None:
    status = article.effective_status(now)
    if status not in ACTIONS[name].from_statuses:
        allowed = allowed_actions(article, now)
        raise InvalidTransition(
            f"Cannot {name} an article that is {status}. Allowed: {', '.join(allowed) or 'none'}.",
            current_status=status,
            allowed_actions=allowed,
        )


def perform(
    article: Article,
    name: str,
    *,
    actor: User,
    expected_version: int,
    publish_at: datetime | None = None,
) -> Article:
    """Run workflow action ``name`` on ``article``."""
    authorize(actor, f"article:{name}", article)
    check_version(article, expected_version)
    now = utcnow()
    _check_transition(article, name, now)
    before = (article.status, article.published_at)
    if name == "submit":
        article.status = "in_review"
    elif name == "publish":
        _publish(article, publish_at, now)
    elif name == "unpublish":
        article.status = "draft"
    elif name == "archive":
        article.status = "archived"
    elif name == "restore-draft":
        article.status = "draft"
    version = article.version
    flush_guarded(article, expected_version)
    if article.published_at != before[1]:
        suggestions.update_after_publish(article, before[1])  # recency: no-op within the hour
    changed = ["status"] + (["published_at"] if article.published_at != before[1] else [])
    detail = {
        "from": before[0],
        "to": article.status,
        "published_at": article.published_at.isoformat() if article.published_at else None,
    }
    # A new version: flush_guarded updated the article's row, whose lock is then held.
    revisions.record(article, actor, name, changed, detail, locked=article.version != version)
    audit.log(f"article.{name}", "article", article.id, actor, detail)
    return article


def _publish(article: Article, publish_at: datetime | None, now: datetime) -> None:
    when = publish_at if publish_at is not None and publish_at > now else now
    when = when.astimezone(UTC)  # as stored and read back: the answer is made from it
    article.published_at = when
    article.status = "scheduled" if when > now else "published"
    if article.first_published_at is None or article.first_published_at > when:
        article.first_published_at = when
