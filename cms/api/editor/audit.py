"""``/api/v1/editor/audit``: the audit log, for admins."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint
from cms.api.editor.common import no_store, role_required
from cms.api.responses import page_response
from cms.schemas.audit import AuditEventOut, AuditQuery
from cms.schemas.common import page_schema
from cms.services.accounts import audit

blp = Blueprint(
    "editor_audit",
    __name__,
    url_prefix="/api/v1/editor/audit",
    description="Who did what to which resource, and when (admins only).",
)
blp.after_request(no_store)

AuditPage = page_schema(AuditEventOut, "AuditPage")
_out = AuditEventOut()


@blp.route("")
class Audit(MethodView):
    @blp.query(AuditQuery, as_kwargs=True)
    @blp.response(200, AuditPage)
    @role_required("admin")
    @blp.operation("listAuditEvents")
    def get(self, limit, count, cursor=None, **filters):
        """Events newest first. Filter by `actor` (id or email), `action` (e.g.
        `article.publish`, `auth.login_failed`), `resource_type`, `resource_id`, and a time
        range `since` (inclusive) – `until` (exclusive)."""
        page = audit.list_events(
            filters, actor=current_user, limit=limit, cursor=cursor, count=count
        )
        return page_response(page, _out)
