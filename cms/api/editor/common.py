"""What every editor endpoint shares: authentication by role, ``no-store`` responses."""

from __future__ import annotations

from functools import wraps

from flask_jwt_extended import current_user, verify_jwt_in_request

from cms.auth.permissions import has_role
from cms.errors import Forbidden

SECURITY = [{"bearerAuth": []}]


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def role_required(role: str):
    """Require a valid, unrevoked access token of a user with at least ``role``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request()
            if not has_role(current_user, role):
                raise Forbidden(f"This needs the {role} role; you are {current_user.role}.")
            return view(*args, **kwargs)

        doc = getattr(wrapper, "_apidoc", {})
        wrapper._apidoc = {**doc, "manual_doc": {**doc.get("manual_doc", {}), "security": SECURITY}}
        return wrapper

    return decorator
