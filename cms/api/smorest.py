"""The flask-smorest ``Api`` singleton, bound in ``create_app`` with ``init_app``."""

from http import HTTPStatus

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from cms.problems import PROBLEM_MIMETYPE, ProblemSchema, problem_response_from_http


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


api = CmsApi()
