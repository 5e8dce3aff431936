"""``/api/v1/editor/users``: logins, for admins only."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint, link
from cms.api.editor.common import no_store, role_required
from cms.api.responses import json_response, page_response
from cms.extensions import db
from cms.schemas.auth import UserIn, UserOut, UserPatch
from cms.schemas.common import Cursor, PageQuery, page_schema
from cms.services.accounts import users

blp = Blueprint(
    "editor_users",
    __name__,
    url_prefix="/api/v1/editor/users",
    description="Manage logins (admins only).",
)
blp.after_request(no_store)

UserPage = page_schema(UserOut, "UserPage")
_out = UserOut()
_BY_ID = {"user_id": "$response.body#/id"}


class UserQuery(PageQuery):
    cursor = Cursor(kinds=(int,))


@blp.route("")
class Users(MethodView):
    @blp.query(UserQuery, as_kwargs=True)
    @blp.response(200, UserPage)
    @role_required("admin")
    @blp.operation("listUsers")
    def get(self, limit, count, cursor=None):
        """All users, by id."""
        page = users.list_users(current_user, limit=limit, cursor=cursor, count=count)
        return page_response(page, _out)

    @blp.query()
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    @blp.links(
        201,
        read=link("getUser", _BY_ID),
        update=link("updateUser", _BY_ID),
        delete=link("deleteUser", _BY_ID),
    )
    @blp.alt_response(409, description="The email is taken.")
    @role_required("admin")
    @blp.operation("createUser")
    def post(self, _query, data):
        """Create a login."""
        user = users.create_user(
            data["email"],
            data["password"],
            data["role"],
            author=data.get("author"),
            actor=current_user,
        )
        db.session.commit()
        return json_response(_out.dump(user), status=201)


@blp.route("/<int:user_id>")
class UserItem(MethodView):
    @blp.query()
    @blp.response(200, UserOut)
    @blp.alt_response(404, description="No such user.")
    @role_required("admin")
    @blp.operation("getUser")
    def get(self, _query, user_id):
        """One user."""
        return users.get_user(user_id)

    @blp.query()
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    @blp.alt_response(404, description="No such user.")
    @blp.alt_response(409, description="The email is taken.")
    @role_required("admin")
    @blp.operation("updateUser")
    def patch(self, _query, data, user_id):
        """Change email, password, role, active flag or author profile."""
        user = users.update_user(users.get_user(user_id), data, actor=current_user)
        db.session.commit()
        return user

    @blp.query()
    @blp.response(204)
    @blp.alt_response(404, description="No such user.")
    @role_required("admin")
    @blp.operation("deleteUser")
    def delete(self, _query, user_id):
        """Delete a login (its articles stay)."""
        users.delete_user(users.get_user(user_id), actor=current_user)
        db.session.commit()
