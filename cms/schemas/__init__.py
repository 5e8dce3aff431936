"""marshmallow schemas: the single source of validation, serialisation and the OpenAPI document."""
