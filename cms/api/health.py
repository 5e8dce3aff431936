"""``/healthz`` (the process answers) and ``/readyz`` (the database answers)."""

import contextlib

import sqlalchemy as sa
from flask import Blueprint

from cms.api.responses import json_response
from cms.availability import RETRY_AFTER_SECONDS
from cms.extensions import db
from cms.problems import problem

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@blp.get("/readyz")
def readyz():
    """200 once the database answers a query, 503 with ``Retry-After`` until then."""
    # A pooled connection cut by a restart fails once and makes the pool reconnect: then the
    # question is asked again on a fresh connection, so a database that is back reads as back.
    for attempt in range(2):
        try:
            db.session.execute(sa.text("SELECT 1"))
            break
        except sa.exc.SQLAlchemyError as error:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                db.session.rollback()
            if attempt or not getattr(error, "connection_invalidated", False):
                return problem(
                    503,
                    "The database is not reachable.",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
                )
    return json_response({"status": "ready"}, headers={"Cache-Control": "no-store"})
