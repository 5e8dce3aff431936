"""Extension singletons, bound to the app in ``create_app`` with ``init_app``."""

from http import HTTPStatus

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from cms.errors import PROBLEM_MIMETYPE, ProblemSchema, problem_response_from_http

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CmsApi(Api):
    """flask-smorest's Api, answering every HTTP error as RFC 9457 problem details."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all ``default`` response: every status an operation can answer is listed
    # (``cms.api.docs.document_error_responses``), so undocumented statuses are caught.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        return problem_response_from_http(error)

    def _register_responses(self):
        """The reusable responses per status; errors are ``application/problem+json``."""
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
jwt = JWTManager()
api = CmsApi()
cors = CORS()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
