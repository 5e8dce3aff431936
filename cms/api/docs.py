"""Swagger UI assets served locally (``/api/docs`` works offline) and OpenAPI touches."""

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from cms.schemas.common import NamedChoice

blp = Blueprint("docs_assets", __name__)


@blp.get("/api/docs/assets/<path:filename>")
def swagger_assets(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def name_enums_and_nullable_refs(api) -> None:
    """Teach the schema converter two things generated clients read as types.

    - A field validated by :class:`~cms.schemas.common.NamedChoice` refers to one enum schema
      of that name (``ArticleStatus``), instead of repeating an anonymous enum per field.
    - A nullable nested schema is ``allOf: [$ref], nullable: true``: "this schema, or null".
      (apispec writes OpenAPI 3.0's ``anyOf`` with an empty nullable object, which clients turn
      into types such as ``ArticleInHeroImageType1Type0`` that accept any object.)

    Runs before the blueprints are registered, which is when their schemas are converted.
    """
    converter = api.ma_plugin.converter
    spec = api.spec

    def named_enum_and_nullable(self, field, ret, **kwargs) -> dict:
        named = next((v for v in field.validators if isinstance(v, NamedChoice)), None)
        if named is not None:
            if named.name not in spec.components.schemas:
                spec.components.schema(named.name, {"type": "string", "enum": list(named.choices)})
            ret.pop("type", None)
            ret.pop("enum", None)
            ret["$ref"] = f"#/components/schemas/{named.name}"
        if "$ref" in ret and (field.allow_none or len(ret) > 1):
            # OpenAPI 3.0 ignores the siblings of a ``$ref`` (default, description, nullable)
            ret["allOf"] = [{"$ref": ret.pop("$ref")}]
        if field.allow_none:
            return {"nullable": True}
        return {}

    functions = converter.attribute_functions
    position = next(i for i, f in enumerate(functions) if f.__name__ == "field2nullable")
    functions[position] = named_enum_and_nullable.__get__(converter)


def document_security(api) -> None:
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )


def document_block_schemas(api) -> None:
    """The body block types, which the ``Block`` field names only by ``$ref``."""
    from cms.schemas.blocks import BLOCK_SCHEMAS

    for kind, schema in BLOCK_SCHEMAS.items():
        api.spec.components.schema(schema.__name__, schema=schema)
        # ``type`` names the block kind, so exactly one of the ``oneOf`` alternatives matches.
        api.spec.components.schemas[schema.__name__]["properties"]["type"]["enum"] = [kind]


_METHODS = ("get", "put", "post", "patch", "delete")
_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you read (or send `version` in the body); 428 without either, "
    "412 when the resource changed since.",
}


def _generic_statuses(path: str, method: str, operation: dict) -> dict[int, str]:
    """The statuses any operation of this kind can answer, besides its own documented ones."""
    statuses = {400: "BAD_REQUEST", 503: "SERVICE_UNAVAILABLE"}
    if "{" in path:
        statuses[404] = "NOT_FOUND"
    if "requestBody" in operation:
        statuses.update(
            {
                413: "REQUEST_ENTITY_TOO_LARGE",
                415: "UNSUPPORTED_MEDIA_TYPE",
                422: "UNPROCESSABLE_ENTITY",
            }
        )
    if "{article_id}" in path and method != "get":
        # A write that lost a race to another writer of the article (``StaleDataError``)
        statuses[409] = "CONFLICT"
    if operation.get("security"):
        statuses.update({401: "UNAUTHORIZED", 403: "FORBIDDEN"})
    elif not path.startswith("/api/v1/editor/"):
        statuses[429] = "TOO_MANY_REQUESTS"  # CMS_PUBLIC_RATE_LIMIT
    return statuses


def document_error_responses(api) -> None:
    """List every error status each operation can answer, all as problem+json.

    Runs after every blueprint is registered. Errors raised outside a view's own decorators
    (authentication, body size and type, rate limits, database outage) are added here, so
    the document has no catch-all ``default`` and an undocumented status is a finding.
    """
    components = api.spec.components
    problem = {"application/problem+json": {"schema": components.get_ref("schema", "Problem")}}
    for path, item in api.spec._paths.items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, name in _generic_statuses(path, method, operation).items():
                responses.setdefault(str(status), components.get_ref("response", name))
            for status, response in responses.items():
                if int(status) >= 400 and "$ref" not in response:
                    response.setdefault("content", problem)
            if "428" in responses:
                operation.setdefault("parameters", []).append(_IF_MATCH)
            operation["responses"] = dict(sorted(responses.items()))
