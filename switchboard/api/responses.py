"""Answers built from wire values (`switchboard.wire`), serialised by orjson.

A route that answers one declares its documented shape with `response_model`; FastAPI passes
a returned `Response` through as it is (no second validation or serialisation).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class WireResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
