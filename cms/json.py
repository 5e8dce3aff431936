"""Flask JSON provider backed by orjson (fast, and RFC 3339 datetimes)."""

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dumps_bytes(obj).decode()

    def dumps_bytes(self, obj: Any) -> bytes:
        """The JSON as the response body sends it (no round trip through ``str``)."""
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS, default=self.default)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
