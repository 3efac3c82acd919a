"""Reading the outbox and sending a dead letter again, by the role rules of API.md."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal
from uuid import UUID

from dentalcare import cursors
from dentalcare.auth.tokens import Principal
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Conflict, Forbidden, NotFound
from dentalcare.messages import repository as appointments_seen
from dentalcare.outbox import repository
from dentalcare.outbox.repository import message_json
from dentalcare.vocabulary import is_staff

MessageStatus = Literal["scheduled", "sending", "sent", "failed", "cancelled"]


async def appointment_messages(
    *, uow: UnitOfWork, caller: Principal, appointment_id: UUID
) -> list[dict[str, Any]]:
    """An appointment's messages, oldest first: for staff and the owner patient. Someone
    else's appointment is a 404 (row-level security hides it); a dentist, a 403."""
    conn = await uow.connection()
    if await repository.appointment_facts(conn, appointment_id) is None:
        raise NotFound("No such appointment.")
    if not (is_staff(caller.role) or caller.role == "patient"):
        raise Forbidden("Only the clinic's staff and the patient see an appointment's messages.")
    rows = await repository.list_for_appointment(conn, appointment_id)
    return [message_json(r) for r in rows]


async def appointment_log(
    *, uow: UnitOfWork, caller: Principal, appointment_id: UUID, dentist_id: UUID
) -> list[dict[str, Any]]:
    """The message log on the appointment detail page (the appointment as the caller read
    it, with its `dentist_id`): for staff and that appointment's own dentist."""
    own_dentist = caller.role == "dentist" and caller.dentist_id == dentist_id
    if not (is_staff(caller.role) or own_dentist):
        raise Forbidden("Only the clinic's staff and the dentist see this message log.")
    rows = await repository.list_for_appointment(await uow.connection(), appointment_id)
    return [message_json(r) for r in rows]


async def live_appointment_log(
    *, uow: UnitOfWork, caller: Principal, appointment_id: UUID
) -> list[dict[str, Any]]:
    """The detail page's message log again, when a live event says it changed: 404 for an
    appointment the caller cannot see, 403 for anyone but staff and its own dentist. Not
    a read of the patient's record: nothing is audited."""
    conn = await uow.connection()
    dentist_id = await appointments_seen.appointment_dentist(conn, appointment_id)
    if dentist_id is None:
        raise NotFound("No such appointment.")
    return await appointment_log(
        uow=uow, caller=caller, appointment_id=appointment_id, dentist_id=dentist_id
    )


async def list_messages(
    *,
    uow: UnitOfWork,
    status: MessageStatus | None,
    kind: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the outbox, newest first (admins)."""
    after = cursors.decode(cursor) if cursor else None
    rows = await repository.list_messages(
        await uow.connection(),
        status=status,
        kind=kind,
        created_from=created_from,
        created_to=created_to,
        after=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [message_json(r) for r in rows],
        "next_cursor": cursors.encode(rows[-1]["created_at"], rows[-1]["id"]) if more else None,
    }


async def retry_message(*, uow: UnitOfWork, message_id: UUID) -> dict[str, Any]:
    """A failed message goes again (409 for one that has not failed)."""
    conn = await uow.connection()
    row = await repository.retry_failed(conn, message_id)
    if row is not None:
        return message_json(row)
    current = await repository.get_message(conn, message_id)
    if current is None:
        raise NotFound("No such message.")
    raise Conflict(f"Only a failed message can be sent again; this one is {current['status']}.")


async def recent_messages(*, uow: UnitOfWork, limit: int = 100) -> list[dict[str, Any]]:
    """The newest messages, with whether each was captured (/admin/mail)."""
    rows = await repository.list_messages(
        await uow.connection(),
        status=None,
        kind=None,
        created_from=None,
        created_to=None,
        after=None,
        limit=limit,
    )
    return [_with_reference(r) for r in rows]


def _with_reference(row: Any) -> dict[str, Any]:
    """API.md `message` plus the booking reference it was written with (the pages' view)."""
    return {**message_json(row), "reference": row["reference"]}


async def captured_mail(*, uow: UnitOfWork, message_id: UUID) -> dict[str, Any]:
    """One message as /admin/mail shows it: its fields and, when it was captured (no SMTP
    server in development), the e-mail's headers, text, HTML and attachment names."""
    row = await repository.get_message(await uow.connection(), message_id)
    if row is None:
        raise NotFound("No such message.")
    shown: dict[str, Any] = {**_with_reference(row), "mail": None}
    if row["captured"]:
        mail = email.message_from_string(row["captured"], policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        text = mail.get_body(("plain",))
        html = mail.get_body(("html",))
        shown["mail"] = {
            "headers": [(k, str(v)) for k, v in mail.items()],
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
            "attachments": [
                f"{a.get_filename()} ({a.get_content_type()})" for a in mail.iter_attachments()
            ],
        }
    return shown
