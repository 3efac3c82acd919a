"""The e-mail as built (`outbox.mail.build_email`, the compat32 `email.mime` classes) and
as it leaves: through a real SMTP server, and as the development capture keeps it, it
parses back with the modern parser into the same subject, sender, bodies and calendar
file, with non-ASCII text intact and no header line over 78 characters."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Any

import aiosmtplib
from icalendar import Calendar

from dentalcare.outbox.mail import build_email, calendar_file
from dentalcare.outbox.rendering import Rendered
from dentalcare.outbox.transports import CaptureTransport
from tests.outbox.smtp import SmtpServer

SUBJECT = (
    "Ihr Termin bei Dr. Jürgen Müller – Dienstag 15. Dezember 2026, 09:30 "
    "(Europe/Berlin, CET) in der Zahnklinik am Marktplatz"
)
TEXT = "Hallo Zoë,\n\nIhr Termin: Dienstag 15. Dezember 2026, 09:30 (Europe/Berlin, CET).\n"
HTML = "<p>Hallo Zoë,</p><p>Ihr Termin: <b>Dienstag 15. Dezember 2026</b></p>"
FIELDS = {
    "uid": "5f7c@dentalcareconnect",
    "dtstamp": "2026-12-01T10:00:00+00:00",
    "sequence": 1764583200,
    "dtstart": "2026-12-15T08:30:00+00:00",
    "dtend": "2026-12-15T09:00:00+00:00",
    "summary": "Dental appointment with Dr Jürgen Müller",
    "description": "Booking reference DC-7KQ2M4",
    "location": "Zahnklinik am Markt, Marktplatz 1, Köln",
    "status": "CONFIRMED",
}


def _built(
    *,
    ics: str | None,
    subject: str = SUBJECT,
    text: str = TEXT,
    html: str = HTML,
    message_id: str = "<0b9f@clinic.example>",
) -> Message:
    return build_email(
        message_id=message_id,
        mail_from="Zahnklinik Köln <bookings@clinic.example>",
        to="zoe@example.com",
        rendered=Rendered(subject=subject, text=text, html=html),
        ics=ics,
        now=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    )


def _mail(**given: Any) -> str:
    return _built(**given).as_string(maxheaderlen=78)


def _parsed(raw: str | bytes) -> EmailMessage:
    if isinstance(raw, bytes):
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
    else:
        parsed = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _check(
    parsed: EmailMessage, *, with_calendar: bool, message_id: str = "<0b9f@clinic.example>"
) -> None:
    assert str(parsed["Subject"]) == SUBJECT
    assert parsed["From"].addresses[0].display_name == "Zahnklinik Köln"
    assert parsed["From"].addresses[0].addr_spec == "bookings@clinic.example"
    assert str(parsed["To"]) == "zoe@example.com"
    assert str(parsed["Message-ID"]) == message_id
    assert str(parsed["Auto-Submitted"]) == "auto-generated"
    outer = "multipart/mixed" if with_calendar else "multipart/alternative"
    assert parsed.get_content_type() == outer
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().rstrip("\r\n") == HTML
    attachments = list(parsed.iter_attachments())
    if not with_calendar:
        assert attachments == []
        return
    (attachment,) = attachments
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "appointment.ics"
    (event,) = Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert str(event["summary"]) == FIELDS["summary"]
    assert str(event["location"]) == FIELDS["location"]
    assert event.decoded("dtstart") == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)


def test_the_captured_copy_parses_back_whole_with_short_header_lines() -> None:
    raw = _mail(ics=calendar_file(FIELDS))
    # The top headers, and every part's Content-* lines (boundaries included).
    assert max(len(line) for line in raw.split("\n\n", 1)[0].splitlines()) <= 78
    assert max(len(line) for line in raw.splitlines() if line.startswith("Content-")) <= 78
    assert raw.isascii()  # non-ASCII text is encoded, not sent raw
    _check(_parsed(raw), with_calendar=True)


def test_without_a_calendar_file_it_is_the_two_alternatives_alone() -> None:
    _check(_parsed(_mail(ics=None)), with_calendar=False)


def test_plain_ascii_mail_keeps_its_text_readable_in_the_raw_message() -> None:
    raw = _mail(
        ics=None, subject="Your appointment", text="Hello Ann,\nsee you.\n", html="<p>Hi</p>"
    )
    parsed = _parsed(raw)
    assert str(parsed["Subject"]) == "Your appointment"
    assert "Subject: Your appointment" in raw and "Hello Ann," in raw  # 7bit, not encoded
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content() == "Hello Ann,\nsee you.\n"


async def test_capture_transport_keeps_what_the_parser_reads_back() -> None:
    mail = _built(ics=calendar_file(FIELDS), message_id="<c1@clinic.example>")
    captured = await CaptureTransport().send(mail)
    assert captured is not None
    _check(_parsed(captured), with_calendar=True, message_id="<c1@clinic.example>")


async def test_through_a_real_smtp_server_it_arrives_as_built(smtp: SmtpServer) -> None:
    mail = _built(ics=calendar_file(FIELDS), message_id="<s1@clinic.example>")
    await aiosmtplib.send(mail, hostname="127.0.0.1", port=smtp.port)
    (received,) = smtp.inbox.to("zoe@example.com")
    _check(received, with_calendar=True, message_id="<s1@clinic.example>")
