"""Login, tokens and users."""

from marshmallow import fields, validate

from cms.auth.passwords import MIN_PASSWORD_LENGTH
from cms.models import ROLES
from cms.schemas.common import NamedChoice, Slug, StrictSchema, UtcDateTime
from cms.schemas.taxonomy import Ref

ROLE = NamedChoice("Role", ROLES)
PASSWORD_LENGTH = validate.Length(
    min=MIN_PASSWORD_LENGTH, max=1000, error="Use at least {min} and at most {max} characters."
)


class LoginIn(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(
        required=True, validate=validate.Length(min=1, max=1000), load_only=True
    )


class TokensOut(StrictSchema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds."})


class UserOut(StrictSchema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String(validate=ROLE)
    is_active = fields.Boolean()
    author = fields.Nested(Ref, allow_none=True)
    created_at = UtcDateTime()


class UserIn(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(required=True, load_only=True, validate=PASSWORD_LENGTH)
    role = fields.String(required=True, validate=ROLE)
    author = Slug(allow_none=True, load_default=None)


class UserPatch(StrictSchema):
    email = fields.Email(validate=validate.Length(max=320))
    password = fields.String(load_only=True, validate=PASSWORD_LENGTH)
    role = fields.String(validate=ROLE)
    is_active = fields.Boolean()
    author = Slug(allow_none=True)
