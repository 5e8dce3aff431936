"""Swagger UI assets served locally (``/api/docs`` works offline) and OpenAPI touches."""

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("docs_assets", __name__)


@blp.get("/api/docs/assets/<path:filename>")
def swagger_assets(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def document_security(api) -> None:
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
