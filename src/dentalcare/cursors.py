"""Keyset-pagination cursors: an opaque token for (instant, id), the last row of a page."""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

from dentalcare.errors import BadRequest


def encode(instant: datetime, ident: UUID) -> str:
    """The cursor that resumes a listing after the row at (`instant`, `ident`)."""
    raw = f"{instant.isoformat()}|{ident}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, UUID]:
    """(instant, id) from a cursor `encode` made; 400 BadRequest for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        instant, _, ident = raw.partition("|")
        return datetime.fromisoformat(instant), UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not one this API handed out.") from exc
