"""The flask-smorest Blueprint of this API: strict about unknown input, 400 for bad queries."""

from __future__ import annotations

import re

import flask_smorest
import orjson
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import missing
from webargs.flaskparser import is_json_request
from werkzeug.routing import IntegerConverter

from cms.schemas.common import MAX_INT, EmptyQuery

# ``\u0000`` preceded by an even number of backslashes: an escaped NUL, not the text "\u0000"
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _paths_with_nul(value, path: str = ""):
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths_with_nul(item, f"{path}.{key}" if path else str(key))
            if "\x00" in key:
                yield f"{path}.{key}" if path else key
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths_with_nul(item, f"{path}.{i}" if path else str(i))


class StrictParser(type(ArgumentsMixin.ARGUMENTS_PARSER)):
    # Let each schema's ``unknown = RAISE`` decide for every location, query string included.
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}

    def _raw_load_json(self, req):
        # orjson, like the app: its nesting limit answers a 10,000-deep document with a 400,
        # where the standard library's parser would overflow the stack (a 500).
        if not is_json_request(req):
            return missing
        raw = req.get_data(cache=True)
        data = orjson.loads(raw)
        if _NUL_ESCAPE.search(raw):
            # PostgreSQL text cannot hold NUL, and no field needs it: 422 naming the fields
            flask_smorest.abort(
                422,
                messages={
                    "json": {
                        path or "_schema": ["Must not contain a NUL character."]
                        for path in _paths_with_nul(data)
                    }
                },
            )
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema, *args, **kwargs):
        # An instance, made once: given a class, webargs instantiates it on every request.
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def operation(self, operation_id: str):
        """Name the operation: its ``operationId``, what generated clients call the function.

        camelCase, verb first, unique in the document (tests/test_openapi.py checks):
        ``listArticles``, ``getArticle``, ``publishArticle``.
        """
        return self.doc(operationId=operation_id)

    def query(self, schema=EmptyQuery, **kwargs):
        """Query-string arguments: unknown or invalid parameters answer 400."""
        return self.arguments(schema, location="query", error_status_code=400, **kwargs)


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs, bounded to what an INTEGER column holds: a bigger number is a 404,
    not a database overflow (and the OpenAPI document says ``maximum``)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)
