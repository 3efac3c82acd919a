"""The account messages, written to the outbox in the caller's transaction: password
reset, e-mail verification, staff invitation and a guest's list of bookings. Each carries
absolute links (DENTALCARE_PUBLIC_URL) holding a fresh link token."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.config import Settings
from dentalcare.links import service as links
from dentalcare.outbox import repository
from dentalcare.outbox.enqueue import enqueue
from dentalcare.timezones import zone


async def clinic_context(conn: asyncpg.Connection, settings: Settings) -> dict[str, str]:
    """The clinic as every message's template shows it (the deployment's defaults filled
    in, as clinic.service.facts_of does)."""
    row = await repository.clinic_row(conn)
    return {
        "name": (row["name"] if row else None) or settings.clinic_name,
        "address": (
            row["address"] if row and row["address"] is not None else settings.clinic_address
        ),
        "phone": (row["phone"] if row else "") or "",
    }


def local_when(starts_at: datetime, timezone: str) -> str:
    """A start time in the dentist's own zone, with the zone's name."""
    local = starts_at.astimezone(zone(timezone))
    return f"{local:%A %d %B %Y, %H:%M} {local.tzname()} ({timezone})"


def _hours(purpose: links.Purpose) -> str:
    lifetime = links.LIFETIMES[purpose]
    hours = int(lifetime.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours < 48 else f"{hours // 24} days"


async def password_reset(
    conn: asyncpg.Connection,
    *,
    user: Any,
    settings: Settings,
    now: datetime | None = None,
) -> UUID | None:
    """A reset link for `user` (conn acts as `system`)."""
    token = await links.issue(
        conn, purpose="password_reset", now=now, user_id=user["id"], email=user["email"]
    )
    return await enqueue(
        conn,
        kind="password_reset",
        to_email=user["email"],
        user_id=user["id"],
        context={
            "clinic": await clinic_context(conn, settings),
            "full_name": user["full_name"],
            "valid_for": _hours("password_reset"),
            "links": {"reset": f"{links.public_url(settings)}/reset-password/{token}"},
        },
    )


async def email_verification(
    conn: asyncpg.Connection,
    *,
    user_id: UUID,
    email: str,
    full_name: str,
    settings: Settings,
    now: datetime | None = None,
) -> UUID | None:
    """A link proving `email` belongs to the new account (conn acts as `system`)."""
    token = await links.issue(
        conn, purpose="email_verification", now=now, user_id=user_id, email=email
    )
    return await enqueue(
        conn,
        kind="email_verification",
        to_email=email,
        user_id=user_id,
        context={
            "clinic": await clinic_context(conn, settings),
            "full_name": full_name,
            "links": {"verify": f"{links.public_url(settings)}/verify-email/{token}"},
        },
    )


async def staff_invitation(
    conn: asyncpg.Connection,
    *,
    user_id: UUID,
    email: str,
    full_name: str,
    role: str,
    settings: Settings,
    now: datetime | None = None,
) -> UUID | None:
    """A set-password link for a new dentist or staff login (conn acts as `system`)."""
    token = await links.issue(
        conn, purpose="staff_invitation", now=now, user_id=user_id, email=email
    )
    return await enqueue(
        conn,
        kind="staff_invitation",
        to_email=email,
        user_id=user_id,
        context={
            "clinic": await clinic_context(conn, settings),
            "full_name": full_name,
            "email": email,
            "role": role.replace("_", " "),
            "valid_for": _hours("staff_invitation"),
            "links": {"set_password": f"{links.public_url(settings)}/reset-password/{token}"},
        },
    )


async def guest_bookings(
    conn: asyncpg.Connection,
    *,
    email: str,
    rows: list[Any],
    settings: Settings,
    now: datetime | None = None,
) -> UUID | None:
    """A guest's upcoming bookings, each with its manage links (conn acts as `system`)."""
    bookings = []
    for row in rows:
        bookings.append(
            {
                "booking_reference": row["booking_reference"],
                "dentist_name": row["dentist_name"],
                "when": local_when(row["starts_at"], row["dentist_timezone"]),
                "status": row["status"],
                "links": links.manage_links(row, settings=settings, now=now),
            }
        )
    return await enqueue(
        conn,
        kind="guest_bookings",
        to_email=email,
        context={
            "clinic": await clinic_context(conn, settings),
            "email": email,
            "bookings": bookings,
        },
    )
