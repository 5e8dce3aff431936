"""The flask-smorest Blueprint of this API: strict about unknown input, 400 for bad queries."""

from __future__ import annotations

import flask_smorest
from flask_smorest.arguments import ArgumentsMixin

from cms.schemas.common import EmptyQuery


class StrictParser(type(ArgumentsMixin.ARGUMENTS_PARSER)):
    # Let each schema's ``unknown = RAISE`` decide for every location, query string included.
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def query(self, schema=EmptyQuery, **kwargs):
        """Query-string arguments: unknown or invalid parameters answer 400."""
        return self.arguments(schema, location="query", error_status_code=400, **kwargs)
