"""``/healthz`` (the process answers) and ``/readyz`` (the database answers)."""

import sqlalchemy as sa
from flask import Blueprint

from cms.api.responses import json_response
from cms.errors import problem
from cms.extensions import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@blp.get("/readyz")
def readyz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return problem(503, "The database is not reachable.", headers={"Retry-After": "5"})
    return json_response({"status": "ready"}, headers={"Cache-Control": "no-store"})
