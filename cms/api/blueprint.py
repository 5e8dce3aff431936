"""The flask-smorest Blueprint of this API: strict about unknown input, 400 for bad queries."""

from __future__ import annotations

import re

import flask_smorest
import marshmallow as ma
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


# Query strings whose parsed arguments a parser keeps (per schema); emptied when full.
PARSED_QUERIES_MAX = 2048


class StrictParser(type(ArgumentsMixin.ARGUMENTS_PARSER)):
    # Let each schema's ``unknown = RAISE`` decide for every location, query string included.
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsed: dict[tuple, dict] = {}

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        """A query string parses to the same arguments every time (or to the same 400, which
        is not kept): the arguments of the most recent ones are kept per schema and copied, as
        the public reads are sent the same few again and again (an empty one, a popular
        search: ~80 µs each)."""
        if location != "query" or not isinstance(argmap, ma.Schema):
            return super().parse(argmap, req, location=location, **kwargs)
        req = req if req is not None else self.get_default_request()
        try:
            key = (argmap, req.query_string, *sorted(kwargs.items()))
            parsed = self._parsed.get(key)
        except TypeError:  # an argument that cannot be a key: parsed every time
            return super().parse(argmap, req, location=location, **kwargs)
        if parsed is None:
            parsed = super().parse(argmap, req, location=location, **kwargs)
            if len(self._parsed) >= PARSED_QUERIES_MAX:
                self._parsed.clear()
            self._parsed[key] = parsed
        return {
            name: value.copy() if isinstance(value, list | dict | set) else value
            for name, value in parsed.items()
        }

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

    def links(self, status: int, **links: dict):
        """OpenAPI links of a response: which operations its values lead to, so that clients
        and stateful fuzzers know where an id comes from. Build each with :func:`link`."""
        return self.doc(responses={status: {"links": links}})

    def query(self, schema=EmptyQuery, **kwargs):
        """Query-string arguments: unknown or invalid parameters answer 400."""
        return self.arguments(schema, location="query", error_status_code=400, **kwargs)


def link(operation_id: str, parameters: dict[str, str], description: str = "") -> dict:
    """A link to ``operation_id``; ``parameters`` maps its parameters (``article_id``, or
    ``header.If-Match``) to runtime expressions such as ``$response.body#/id``."""
    out = {"operationId": operation_id, "parameters": parameters}
    if description:
        out["description"] = description
    return out


# Parameters of links, by where the value comes from.
ARTICLE_ID = {"article_id": "$response.body#/id"}
# ...and the ETag just returned, for the writes guarded by ``If-Match``
ARTICLE_VERSION = {**ARTICLE_ID, "header.If-Match": "$response.header.ETag"}
ARTICLE_SLUG = {"slug": "$response.body#/slug"}
FIRST_SLUG = {"slug": "$response.body#/data/0/slug"}


def public_article_links(parameters: dict[str, str]) -> dict:
    """The public reads of an article: detail, summary, related."""
    return {
        "article": link("getArticle", parameters),
        "summary": link("getArticleSummary", parameters),
        "related": link("getRelatedArticles", parameters),
    }


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs, bounded to what an INTEGER column holds: a bigger number is a 404,
    not a database overflow (and the OpenAPI document says ``maximum``)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)
