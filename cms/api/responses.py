"""Response helpers shared by the views of both APIs."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlencode

from flask import current_app, request

from cms.errors import PreconditionRequired
from cms.pagination import Page
from cms.schemas.common import MAX_INT

# The Content-Type of a JSON response: werkzeug adds no charset to this type.
JSON_TYPE = "application/json"


def json_response(data, status: int = 200, headers: dict | None = None):
    """A JSON response of ``data``, or of ``data`` as it is when it is already JSON bytes;
    ``headers`` follow its ``Content-Type`` and ``Content-Length``, in their order."""
    body = data if isinstance(data, bytes) else current_app.json.dumps_bytes(data)
    response = current_app.response_class(body, status=status, mimetype=JSON_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class Answer(NamedTuple):
    """A JSON 200 before it is a response: its body, the headers the view sets on it and its
    cache tags. The views make it a response (``response``); the plain reads answered before
    Flask (``cms.api.public.fast``) send the same headers without building one."""

    body: bytes
    headers: dict[str, str]
    tags: list[str]

    def response(self):
        return json_response(self.body, headers=self.headers)


def next_link(cursor: str, sent=None) -> str:
    """``Link`` header value for the next page: this request (or ``sent``) with ``cursor``
    replaced."""
    sent = sent or request
    args = [(k, v) for k, v in sent.args.items(multi=True) if k != "cursor"]
    args.append(("cursor", cursor))
    return f'<{sent.path}?{urlencode(args)}>; rel="next"'


def page_response(page: Page, item_schema, sent=None):
    """``{"data": [...], "meta": {...}}`` plus a ``Link`` header when there is a next page
    (of this request, or of ``sent``)."""
    body, headers = page_document(page, item_schema, sent)
    return json_response(body, headers=headers)


def page_document(page: Page, item_schema, sent=None) -> tuple[bytes, dict[str, str]]:
    """The body of ``page_response`` and its headers."""
    meta = {"limit": page.limit, "next_cursor": page.next_cursor}
    if page.total is not None:
        meta["total"] = page.total
    meta.update(page.extra)
    headers = {"Link": next_link(page.next_cursor, sent)} if page.next_cursor else {}
    body = {"data": item_schema.dump(page.items, many=True), "meta": meta}
    return current_app.json.dumps_bytes(body), headers


def sent_version(body_version: int | None = None) -> int | None:
    """The version a write says it is based on (``If-Match: "<etag>"`` or ``version`` in the
    body), or ``None`` when it sent neither."""
    header = request.headers.get("If-Match")
    if header:
        tag = header.strip().removeprefix("W/").strip('"')
        version = tag.rsplit("v", 1)[-1] if "v" in tag else tag
        if version.isdigit() and int(version) <= MAX_INT:
            return int(version)
        return -1  # matches nothing: answered 412
    return body_version


def expected_version(body_version: int | None = None) -> int:
    """The version a write is based on; 428 when it sent none."""
    version = sent_version(body_version)
    if version is not None:
        return version
    raise PreconditionRequired(
        "Send If-Match with the ETag you read (or the version in the body), so that "
        "concurrent edits cannot overwrite each other."
    )


def article_etag(article) -> str:
    return f'"a{article.id}-v{article.version}"'
