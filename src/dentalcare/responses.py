"""A JSON response rendered by orjson: endpoints that already hold the contract's JSON
objects (dicts built by the renderers) skip a second validation pass."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    """application/json, rendered with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise `content`."""
        return orjson.dumps(content)
