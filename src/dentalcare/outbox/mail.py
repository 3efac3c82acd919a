"""A message as an e-mail: text and HTML alternatives, the calendar file attached, and a
Message-ID that stays the message's own on every attempt."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from dentalcare.outbox.rendering import Rendered


def build_email(
    *,
    message_id: str,
    mail_from: str,
    to: str,
    rendered: Rendered,
    ics: str | None,
    now: datetime | None = None,
) -> EmailMessage:
    """The MIME message: multipart/alternative (text, HTML), with `ics` attached."""
    mail = EmailMessage()
    mail["Message-ID"] = message_id
    mail["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    mail["From"] = mail_from
    mail["To"] = to
    mail["Subject"] = rendered.subject
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    if ics:
        mail.add_attachment(
            ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="appointment.ics",
            params={"method": "PUBLISH"},
        )
    # Each multipart gets its boundary here: left unset, the e-mail generator draws one
    # from the process's shared `random` state, which is no business of a mail worker.
    for part in mail.walk():
        if part.is_multipart():
            part.set_boundary(f"=_dc_{secrets.token_hex(16)}")
    return mail


def ics_of(context: dict[str, Any]) -> str | None:
    """The calendar file a booking message carries (its context's `ics`), if any."""
    value = context.get("ics")
    return value if isinstance(value, str) and value else None
