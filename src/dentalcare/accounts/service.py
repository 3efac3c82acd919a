"""Account rules: one-click manage links, unsubscribe, password reset and change, e-mail
verification and a guest's "e-mail me my bookings".

Links are used inside the request's transaction: when the action is refused (a
cancellation inside the clinic's notice, a slot taken), the transaction rolls back and
the link still works. Answers that could tell whether an address has an account (reset,
"e-mail me my bookings") are the same `202` either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from dentalcare.accounts import repository
from dentalcare.accounts.schemas import ManageRequest, PasswordChange, PasswordResetConfirm
from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentUpdate
from dentalcare.auth import repository as auth_repository
from dentalcare.auth import service as auth
from dentalcare.auth.passwords import PasswordHashing
from dentalcare.auth.tokens import Principal
from dentalcare.config import Settings
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import LinkExpired, Unauthorized, ValidationError
from dentalcare.links import service as links
from dentalcare.outbox import accounts as messages
from dentalcare.outbox import repository as outbox_repository
from dentalcare.ratelimit import RateLimiter

MANAGE_PURPOSES = ("confirm_attendance", "cancel", "reschedule")
# What a link's answer leaves out: nobody logs in to use it, so no medical fields.
MEDICAL_FIELDS = (
    "patient_medical_conditions",
    "symptoms",
    "medical_history",
    "medications",
    "allergies",
)
LINK_CANCEL_REASON = "Cancelled by the patient from the link in a message."
# One client may ask for account e-mails to this many times as many addresses.
CLIENT_FACTOR = 6


def _without_medical(appointment: dict[str, Any]) -> dict[str, Any]:
    return {**appointment, **{field: None for field in MEDICAL_FIELDS if field in appointment}}


def _owner(row: Any) -> Claims:
    """The claims of the appointment's own patient, or of the guest who booked it."""
    if row["patient_id"] is not None:
        return Claims("patient", user_id=row["patient_id"])
    return Claims("anonymous", guest_email=row["patient_email"])


async def manage_page(
    *, uow: UnitOfWork, token: str, now: datetime | None = None
) -> dict[str, Any]:
    """What a manage link will act on (the link stays unused): its action and appointment."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        link = await links.peek(conn, token, purposes=MANAGE_PURPOSES, now=now)
        assert link.appointment_id is not None
        row = await repository.appointment_for_link(conn, link.appointment_id)
    if row is None or not link.sent_to(row["patient_email"]):
        raise LinkExpired(links.EXPIRED)
    async with uow.acting_as(_owner(row)):
        appointment = await appointments.get_appointment(uow=uow, appointment_id=row["id"])
    return {"action": link.purpose, "appointment": _without_medical(appointment)}


async def manage(
    *,
    uow: UnitOfWork,
    settings: Settings,
    token: str,
    request: ManageRequest,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Do what a manage link is for (one action per link, once), with the patient's own
    rules (the cancellation notice applies); the appointment afterwards."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        link = await links.use(conn, token, purposes=(request.action,), now=now)
        assert link.appointment_id is not None
        row = await repository.appointment_for_link(conn, link.appointment_id)
        if row is None or not link.sent_to(row["patient_email"]):
            raise LinkExpired(links.EXPIRED)
        if request.action == "confirm_attendance":
            if row["status"] not in repository.ACTIVE or row["starts_at"] <= now:
                raise LinkExpired("This appointment is no longer open to confirm.")
            await repository.confirm_attendance(conn, row["id"], at=now)
    owner = _owner(row)
    if request.action == "cancel":
        appointment = await appointments.cancel_appointment(
            uow=uow,
            settings=settings,
            caller=None,
            appointment_id=row["id"],
            reason=LINK_CANCEL_REASON,
            owner=owner,
            now=now,
        )
    elif request.action == "reschedule":
        if request.appointment_date is None or request.appointment_time is None:
            raise ValidationError("Give appointment_date and appointment_time to reschedule.")
        appointment = await appointments.update_appointment(
            uow=uow,
            settings=settings,
            caller=None,
            appointment_id=row["id"],
            request=AppointmentUpdate(
                appointment_date=request.appointment_date,
                appointment_time=request.appointment_time,
            ),
            owner=owner,
            now=now,
        )
    else:
        async with uow.acting_as(owner):
            appointment = await appointments.get_appointment(uow=uow, appointment_id=row["id"])
    return _without_medical(appointment)


async def unsubscribe(*, uow: UnitOfWork, token: str, now: datetime | None = None) -> str:
    """Stop reminders to the address an unsubscribe link was sent to; that address."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        link = await links.use(conn, token, purposes=("unsubscribe",), now=now)
        email = link.email
        if email is None:  # a signed link: the address it was sent to is the visit's
            assert link.appointment_id is not None
            row = await repository.appointment_for_link(conn, link.appointment_id)
            if row is None or not link.sent_to(row["patient_email"]):
                raise LinkExpired(links.EXPIRED)
            email = row["patient_email"]
        await links.opt_out(conn, email)
        await outbox_repository.cancel_reminders_to(conn, email)
    return str(email)


@dataclass(frozen=True, slots=True)
class AccountMailLimits:
    """How often account e-mails (reset, "my bookings") may be asked for: per address,
    and — more loosely, a household or an office shares one — per client."""

    per_email: RateLimiter
    per_client: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], float]) -> AccountMailLimits:
        """Both limits, per hour, from the settings."""
        limit = settings.account_emails_per_hour
        enabled = settings.rate_limits_enabled
        return cls(
            per_email=RateLimiter(
                limit=limit,
                window=3600.0,
                what="e-mails to this address",
                enabled=enabled,
                clock=clock,
            ),
            per_client=RateLimiter(
                limit=limit * CLIENT_FACTOR,
                window=3600.0,
                what="account e-mails",
                enabled=enabled,
                clock=clock,
            ),
        )

    def count(self, *, email: str, address: str) -> None:
        """Count one request (RateLimited, counting nothing, when either is at its limit)."""
        email_key, client_key = f"email:{email.strip().lower()}", f"ip:{address}"
        self.per_email.check(email_key)
        self.per_client.check(client_key)
        self.per_email.hit(email_key)
        self.per_client.hit(client_key)


async def request_password_reset(
    *, uow: UnitOfWork, settings: Settings, email: str, now: datetime | None = None
) -> bool:
    """Write a reset message for the account with this address, if there is one (the
    caller answers the same either way); whether one was written."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        user = await auth_repository.user_by_email(conn, email)
        if user is None or user["disabled"]:
            return False
        await messages.password_reset(conn, user=user, settings=settings, now=now)
    return True


async def _set_password(
    *, uow: UnitOfWork, hashing: PasswordHashing, user_id: UUID, password: str, now: datetime
) -> Any:
    password_hash = await hashing.hash(password)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        row = await repository.set_password(conn, user_id, password_hash)
        # A new password ends every reset link still open, and every session.
        await links.use_up(conn, user_id=user_id, purpose="password_reset", now=now)
        await links.use_up(conn, user_id=user_id, purpose="staff_invitation", now=now)
    return row


async def confirm_password_reset(
    *,
    uow: UnitOfWork,
    hashing: PasswordHashing,
    request: PasswordResetConfirm,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Set a new password from a reset (or invitation) link; every session ends."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        link = await links.use(
            conn, request.token, purposes=("password_reset", "staff_invitation"), now=now
        )
        assert link.user_id is not None
        user = await repository.user_for_password(conn, link.user_id)
    if user is None or user["disabled"] or user["email"].lower() != (link.email or "").lower():
        raise LinkExpired(links.EXPIRED)
    await _set_password(
        uow=uow, hashing=hashing, user_id=user["id"], password=request.password, now=now
    )
    return {"detail": "Your password is changed; log in with the new one."}


async def change_password(
    *,
    uow: UnitOfWork,
    settings: Settings,
    hashing: PasswordHashing,
    principal: Principal,
    request: PasswordChange,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Change the caller's own password (the current one must be right): every other
    session ends; the answer is a fresh session for this one."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        user = await repository.user_for_password(await uow.connection(), principal.user_id)
    assert user is not None, "the token check found the user"
    if not await hashing.verify(user["password_hash"], request.current_password):
        raise Unauthorized("The current password is not right.")
    row = await _set_password(
        uow=uow,
        hashing=hashing,
        user_id=principal.user_id,
        password=request.new_password,
        now=now,
    )
    return auth.session_json(settings, row, dentist_id=principal.dentist_id, now=now)


async def verify_email(
    *, uow: UnitOfWork, token: str, now: datetime | None = None
) -> dict[str, Any]:
    """Mark the account's address verified (the link must be for its current address)."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        link = await links.use(conn, token, purposes=("email_verification",), now=now)
        assert link.user_id is not None and link.email is not None
        if not await repository.mark_email_verified(conn, link.user_id, link.email, at=now):
            raise LinkExpired(links.EXPIRED)
        # The address is proven theirs: what they booked as a guest under it joins them.
        joined = await repository.join_guest_bookings(conn, link.user_id, link.email)
    return {
        "detail": "Your e-mail address is verified.",
        "email": link.email,
        "joined_bookings": len(joined),
    }


async def send_guest_bookings(
    *, uow: UnitOfWork, settings: Settings, email: str, now: datetime | None = None
) -> int:
    """Write a guest's "your bookings" message (each booking with its manage links), when
    they have upcoming bookings under this address; how many were listed."""
    now = now or datetime.now(UTC)
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        rows = await repository.upcoming_guest_bookings(conn, email, now=now)
        if rows:
            await messages.guest_bookings(conn, email=email, rows=rows, settings=settings, now=now)
    return len(rows)
