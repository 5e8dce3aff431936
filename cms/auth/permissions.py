"""Who may do what: the one permission check, used by every service.

Roles: ``writer`` creates and edits their own drafts and submits them for review; ``editor``
handles all content, publishing, taxonomies and sources; ``admin`` can do everything, including
users and the audit log.
"""

from __future__ import annotations

from cms.errors import Forbidden

RANK = {"writer": 1, "editor": 2, "admin": 3}

# action -> minimum role
MINIMUM_ROLE = {
    "article:create": "writer",
    "article:read": "writer",
    "article:edit": "writer",
    "article:delete": "writer",
    "article:submit": "writer",
    "article:publish": "editor",
    "article:unpublish": "editor",
    "article:archive": "editor",
    "article:restore-draft": "writer",
    "article:correct": "editor",
    "article:takedown": "admin",
    "correction:hide": "admin",
    "taxonomy:write": "editor",
    "user:manage": "admin",
    "audit:read": "admin",
    "webhook:manage": "admin",
}

# What a writer may do with an article is also limited to their own, in these statuses.
WRITER_OWN_STATUSES = {
    "article:read": None,  # any status
    "article:edit": {"draft"},
    "article:delete": {"draft"},
    "article:submit": {"draft"},
    "article:restore-draft": {"in_review"},
}


def has_role(user, role: str) -> bool:
    return RANK.get(user.role, 0) >= RANK[role]


def allowed(user, action: str, article=None) -> bool:
    if not has_role(user, MINIMUM_ROLE[action]):
        return False
    if article is None or has_role(user, "editor"):
        return True
    if article.created_by_id != user.id:
        return False
    statuses = WRITER_OWN_STATUSES.get(action)
    return statuses is None or article.status in statuses


def authorize(user, action: str, article=None) -> None:
    """Raise :class:`Forbidden` unless ``user`` may perform ``action`` (on ``article``)."""
    if allowed(user, action, article):
        return
    if not has_role(user, MINIMUM_ROLE[action]):
        raise Forbidden(f"Your role ({user.role}) may not {action.split(':')[1]} here.")
    if article is not None and article.created_by_id != user.id:
        raise Forbidden("Writers may only act on their own articles.")
    raise Forbidden(f"Writers may not {action.split(':')[1]} an article that is {article.status}.")
