"""Dentist rules: the public directory, and admin create / edit / remove."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth import repository as users
from dentalcare.auth.passwords import PasswordHashing
from dentalcare.auth.tokens import Principal
from dentalcare.config import Settings
from dentalcare.db.claims import SYSTEM
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import repository
from dentalcare.dentists.schemas import DentistCreate, DentistUpdate, dentist_json
from dentalcare.errors import AlreadyExists, Forbidden, NotFound, ValidationError
from dentalcare.outbox import accounts as account_messages
from dentalcare.outbox import bookings as messages
from dentalcare.timezones import check_timezone

REMOVAL_REASON = "dentist removed"


def _sees_email(caller: Principal | None, dentist_id: Any) -> bool:
    return caller is not None and (
        caller.role == "admin" or (caller.role == "dentist" and caller.dentist_id == dentist_id)
    )


# Words patients search with, and what a dentist's profile says instead.
SEARCH_SYNONYMS = {
    "braces": ("braces", "orthodont", "aligner"),
    "aligners": ("aligner", "orthodont"),
    "kids": ("child", "pediatric", "paediatric"),
    "kid": ("child", "pediatric", "paediatric"),
    "children": ("child", "pediatric", "paediatric"),
    "child": ("child", "pediatric", "paediatric"),
    "paediatric": ("pediatric", "paediatric"),
    "canal": ("canal", "endodont"),
    "implant": ("implant", "oral surgery"),
    "implants": ("implant", "oral surgery"),
    "wisdom": ("wisdom", "oral surgery"),
    "extraction": ("extraction", "oral surgery"),
    "pain": ("pain", "endodont"),
}
# "Dr Smith", "Dr. Smith": the title is not a word of the name to look for.
_IGNORED_WORDS = frozenset({"dr", "doctor", "dentist", "a", "the", "for"})


def _search_words(search: str) -> list[str]:
    words = re.findall(r"[\w'-]+", search.lower())
    return [w for w in words if w not in _IGNORED_WORDS]


def _matches(row: asyncpg.Record, search: str | None, specialization: str | None) -> bool:
    """Every word of the search appears in the name, the specialty or the bio (or a word
    that means the same there: "braces" finds the orthodontist)."""
    if specialization and row["specialization"].lower() != specialization.lower():
        return False
    if not search:
        return True
    profile = " ".join((row["name"], row["specialization"], row["bio"] or "")).lower()
    return all(
        any(form in profile for form in SEARCH_SYNONYMS.get(word, (word,)))
        for word in _search_words(search)
    )


async def list_dentists(
    *,
    uow: UnitOfWork,
    caller: Principal | None = None,
    search: str | None = None,
    specialization: str | None = None,
) -> list[dict[str, Any]]:
    """The active directory, optionally filtered by a name/specialty search."""
    rows = await repository.list_active(await uow.connection())
    return [
        dentist_json(r, include_email=_sees_email(caller, r["id"]))
        for r in rows
        if _matches(r, search, specialization)
    ]


async def get_dentist(
    *, uow: UnitOfWork, caller: Principal | None, dentist_id: UUID
) -> dict[str, Any]:
    """One dentist; a removed one only for admins."""
    row = await repository.dentist_by_id((await uow.connection()), dentist_id)
    if row is None or (not row["active"] and (caller is None or caller.role != "admin")):
        raise NotFound("No such dentist.")
    return dentist_json(row, include_email=_sees_email(caller, row["id"]))


async def create_dentist(
    *, uow: UnitOfWork, settings: Settings, hashing: PasswordHashing, request: DentistCreate
) -> dict[str, Any]:
    """Create a dentist with a login that works at once; the password is returned once."""
    timezone = check_timezone(request.timezone or settings.clinic_timezone)
    password = request.password or secrets.token_urlsafe(12)
    password_hash = await hashing.hash(password)  # off the event loop
    try:
        conn = await uow.connection()
        user = await users.insert_user(
            conn,
            email=str(request.email),
            password_hash=password_hash,
            role="dentist",
            full_name=request.name,
            phone=None,
        )
        row = await repository.insert_dentist(
            conn,
            user_id=user["id"],
            name=request.name,
            email=str(request.email),
            specialization=request.specialization,
            bio=request.bio,
            years_of_experience=request.years_of_experience,
            timezone=timezone,
            slot_minutes=request.slot_minutes,
        )
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("An account with this e-mail address already exists.") from exc
    # The invitation (a set-password link) goes in the same transaction; the one-time
    # password stays in the answer for the clients that show it.
    async with uow.acting_as(SYSTEM):
        await account_messages.staff_invitation(
            await uow.connection(),
            user_id=user["id"],
            email=user["email"],
            full_name=request.name,
            role="dentist",
            settings=settings,
        )
    return {"dentist": dentist_json(row, include_email=True), "initial_password": password}


async def update_dentist(
    *, uow: UnitOfWork, caller: Principal, dentist_id: UUID, request: DentistUpdate
) -> dict[str, Any]:
    """Partial update: admins any field, a dentist their own profile except the e-mail."""
    changes = request.model_dump(exclude_unset=True)
    if caller.role == "dentist":
        if caller.dentist_id != dentist_id:
            raise Forbidden("Dentists may edit only their own profile.")
        if "email" in changes:
            raise Forbidden("Only an admin can change a dentist's e-mail address.")
    elif caller.role != "admin":
        raise Forbidden("Only admins and the dentist may edit a profile.")
    if changes.get("timezone") is not None:
        check_timezone(changes["timezone"])
    changes = {k: v for k, v in changes.items() if v is not None}
    if "email" in changes:
        changes["email"] = str(changes["email"])
    try:
        conn = await uow.connection()
        current = await repository.lock_dentist(conn, dentist_id)
        if current is None or not current["active"]:
            raise NotFound("No such dentist.")
        if "email" in changes and current["user_id"] is not None:
            await users.update_email(conn, current["user_id"], changes["email"])
        if "default_chair_id" in changes and not await repository.chair_active(
            conn, changes["default_chair_id"]
        ):
            raise ValidationError(
                "default_chair_id: no such chair in use.",
                fields=[{"loc": ["body", "default_chair_id"], "msg": "no such chair"}],
            )
        row = await repository.update_dentist(conn, dentist_id, changes)
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("An account with this e-mail address already exists.") from exc
    assert row is not None
    return dentist_json(row, include_email=True)


async def remove_dentist(
    *, uow: UnitOfWork, settings: Settings, dentist_id: UUID, now: datetime | None = None
) -> None:
    """Remove a dentist: login disabled and tokens revoked, future bookings cancelled (and
    their patients told, in the same transaction)."""
    now = now or datetime.now(UTC)
    conn = await uow.connection()
    current = await repository.lock_dentist(conn, dentist_id)
    if current is None:
        raise NotFound("No such dentist.")
    if not current["active"]:
        return
    await repository.mark_removed(conn, dentist_id)
    if current["user_id"] is not None:
        await users.revoke_and_disable(conn, current["user_id"])
    cancelled = await repository.cancel_future_appointments(
        conn, dentist_id=dentist_id, after=now, reason=REMOVAL_REASON
    )
    for appointment_id in cancelled:
        await messages.cancelled(
            conn,
            settings=settings,
            appointment_id=appointment_id,
            by="dentist_removed",
            reason=None,
            now=now,
        )
