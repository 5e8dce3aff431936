"""Password hashing with Argon2id (argon2-cffi).

The test configuration sets ``CMS_PASSWORD_HASH_PROFILE = "test"`` to use argon2-cffi's
cheapest parameters; every other configuration uses its recommended defaults. A hash records
its own parameters, so verification works whichever profile made it.
"""

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

_HASHERS = {
    "default": PasswordHasher(),
    "test": PasswordHasher.from_parameters(profiles.CHEAPEST),
}
# Verified against when the account does not exist, so that the answer takes as long.
_DUMMY_HASHES = {name: hasher.hash("not-a-real-password") for name, hasher in _HASHERS.items()}

MIN_PASSWORD_LENGTH = 10


def _profile() -> str:
    if has_app_context():
        return current_app.config.get("CMS_PASSWORD_HASH_PROFILE", "default")
    return "default"


def hash_password(password: str) -> str:
    return _HASHERS[_profile()].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    profile = _profile()
    try:
        ok = _HASHERS[profile].verify(password_hash or _DUMMY_HASHES[profile], password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None
