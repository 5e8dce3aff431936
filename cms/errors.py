"""Domain errors. Services raise :class:`CmsError` subclasses (no HTTP inside them).

``cms.problems`` turns them, and every other error, into RFC 9457 problem details.
"""

from __future__ import annotations


class CmsError(Exception):
    """Base of the domain errors. ``status`` decides the HTTP answer."""

    status = 400
    type = "about:blank"

    def __init__(self, detail: str, *, errors: dict | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class NotFound(CmsError):
    status = 404


class Forbidden(CmsError):
    status = 403


class Conflict(CmsError):
    status = 409


class InvalidTransition(Conflict):
    type = "urn:cms:problem:invalid-transition"


class Gone(CmsError):
    """A public URL of an article an admin took down: 410 with the ``reason``."""

    status = 410
    type = "urn:cms:problem:taken-down"


class PreconditionFailed(CmsError):
    status = 412
    type = "urn:cms:problem:stale-version"


class PreconditionRequired(CmsError):
    status = 428


class ValidationFailed(CmsError):
    status = 422
    type = "urn:cms:problem:validation"


class Unauthorized(CmsError):
    status = 401


class ServiceUnavailable(CmsError):
    status = 503
