"""``/api/v1/editor/auth``: login, refresh, logout, me."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, jwt_required
from flask_limiter.util import get_remote_address

from cms.api.blueprint import Blueprint
from cms.api.editor.common import SECURITY, no_store
from cms.extensions import db, limiter
from cms.schemas.auth import LoginIn, TokensOut, UserOut
from cms.services.accounts import sessions

blp = Blueprint(
    "editor_auth",
    __name__,
    url_prefix="/api/v1/editor/auth",
    description="Sign in and out; tokens.",
)
blp.after_request(no_store)


def _login_email() -> str:
    payload = request.get_json(silent=True)
    email = payload.get("email") if isinstance(payload, dict) else None
    return f"login-account:{str(email).strip().lower()}" if email else get_remote_address()


def _failed(response) -> bool:
    return response.status_code == 401


@blp.route("/login")
class Login(MethodView):
    decorators = [
        limiter.limit(
            lambda: current_app.config["CMS_LOGIN_LIMIT_ACCOUNT"],
            key_func=_login_email,
            deduct_when=_failed,
            scope="login-account",
        ),
        limiter.limit(
            lambda: current_app.config["CMS_LOGIN_LIMIT_IP"],
            key_func=get_remote_address,
            deduct_when=_failed,
            scope="login-ip",
        ),
    ]

    @blp.query()
    @blp.arguments(LoginIn)
    @blp.response(200, TokensOut)
    @blp.alt_response(401, description="Wrong email or password.")
    @blp.alt_response(429, description="Too many failed logins (see Retry-After).")
    @blp.operation("login")
    def post(self, _query, credentials):
        """Exchange email and password for an access token and a refresh token."""
        user = sessions.authenticate(credentials["email"], credentials["password"])
        issued = sessions.login(user)
        db.session.commit()
        return issued


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.query()
    @blp.response(200, TokensOut)
    @blp.alt_response(401, description="Invalid, expired, revoked or reused refresh token.")
    @blp.doc(security=SECURITY)
    @jwt_required(refresh=True)
    @blp.operation("refreshTokens")
    def post(self, _query):
        """Rotate tokens: send the refresh token as Bearer. A used refresh token stops working."""
        issued = sessions.refresh(current_user, get_jwt())
        db.session.commit()
        return issued


@blp.route("/logout")
class Logout(MethodView):
    @blp.query()
    @blp.response(204)
    @blp.alt_response(401, description="Not signed in.")
    @blp.doc(security=SECURITY)
    @jwt_required(verify_type=False)
    @blp.operation("logout")
    def post(self, _query):
        """Revoke this login: its access token and its refresh token."""
        sessions.logout(get_jwt())
        db.session.commit()


@blp.route("/me")
class Me(MethodView):
    @blp.query()
    @blp.response(200, UserOut)
    @blp.alt_response(401, description="Not signed in.")
    @blp.doc(security=SECURITY)
    @jwt_required()
    @blp.operation("getCurrentUser")
    def get(self, _query):
        """The signed-in user."""
        return current_user
