"""Staff logins: an admin creates front-desk (or admin) logins and removes them."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth import repository as users
from dentalcare.auth.passwords import PasswordHashing
from dentalcare.auth.service import user_json
from dentalcare.auth.tokens import Principal
from dentalcare.config import Settings
from dentalcare.db.claims import SYSTEM
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import AlreadyExists, InvalidTransition, NotFound
from dentalcare.outbox import accounts as account_messages
from dentalcare.staff import repository
from dentalcare.staff.schemas import StaffCreate


async def list_staff(*, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every active staff login."""
    return [user_json(row) for row in await repository.list_staff(await uow.connection())]


async def create_staff(
    *, uow: UnitOfWork, settings: Settings, hashing: PasswordHashing, request: StaffCreate
) -> dict[str, Any]:
    """A staff login that works at once; the password is returned only here, and the new
    colleague gets an invitation with a set-password link (as a new dentist does)."""
    password = request.password or secrets.token_urlsafe(12)
    password_hash = await hashing.hash(password)  # off the event loop
    try:
        async with uow.savepoint() as conn:
            row = await users.insert_user(
                conn,
                email=str(request.email),
                password_hash=password_hash,
                role=request.role,
                full_name=request.full_name,
                phone=None,
            )
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("An account with this e-mail address already exists.") from exc
    # The invitation commits with the login or not at all; the one-time password stays in
    # the answer for the clients that show it.
    async with uow.acting_as(SYSTEM):
        await account_messages.staff_invitation(
            await uow.connection(),
            user_id=row["id"],
            email=row["email"],
            full_name=request.full_name,
            role=request.role,
            settings=settings,
        )
    return {"user": user_json(row), "initial_password": password}


async def remove_staff(*, uow: UnitOfWork, caller: Principal, user_id: UUID) -> None:
    """Disable a staff login and end its sessions at once; the last admin stays."""
    conn = await uow.connection()
    row = await repository.staff_by_id(conn, user_id)
    if row is None:
        raise NotFound("No such staff login.")
    if user_id == caller.user_id:
        raise InvalidTransition("You cannot remove your own login; ask another admin.")
    if row["role"] == "admin" and await repository.other_admins(conn, user_id) == 0:
        raise InvalidTransition("The clinic's last admin cannot be removed.")
    await users.revoke_and_disable(conn, user_id)
