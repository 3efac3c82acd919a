"""Account and booking messages arrive at a real SMTP server (aiosmtpd) and an HTTP SMS
gateway, and the links in them work when followed over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

import asyncpg
import httpx
import pytest

from tests.accounts.test_sms import Gateway
from tests.fixtures.clinic import next_weekday, working_dentist
from tests.fixtures.rows import make_user
from tests.fixtures.servers import serve
from tests.fixtures.waiting import wait_for
from tests.outbox.smtp import SmtpServer

FAST = {"outbox_poll_seconds": 0.05, "outbox_retry_base_seconds": 0.1}
LINK = re.compile(r"https?://[^\s\"<>]+")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    try:
        yield running
    finally:
        running.close()


def text_links(mail: EmailMessage) -> list[str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    found = LINK.findall(text.get_content())
    assert set(found) <= {u.replace("&amp;", "&") for u in LINK.findall(html.get_content())}
    return found


def local(url: str, base: str) -> str:
    """The link's path on the test server (DENTALCARE_PUBLIC_URL names the server)."""
    assert url.startswith(base), (url, base)
    return url[len(base) :]


async def test_account_mails_arrive_with_working_links(
    owner_conn: asyncpg.Connection, database_url: str, smtp: SmtpServer
) -> None:
    user = await make_user(owner_conn, role="patient", email="forgetful@example.com")
    with serve(database_url, smtp_url=smtp.url, **FAST) as server:
        base = server.app.state.settings.public_url.rstrip("/")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            for email in ("stranger@example.com", user["email"]):
                answer = await http.post("/api/auth/password-reset", json={"email": email})
                assert answer.status_code == 202
            await wait_for(lambda: smtp.inbox.to(user["email"]), 20, what="the reset e-mail")
            [mail] = smtp.inbox.to(user["email"])
            assert "Reset your password" in mail["Subject"]
            [url] = text_links(mail)
            token = local(url, base).removeprefix("/reset-password/")
            page = await http.get(local(url, base))
            assert page.status_code == 200 and "Choose a new password" in page.text
            done = await http.post(
                "/api/auth/password-reset/confirm",
                json={"token": token, "password": "remembered-now-1"},
            )
            assert done.status_code == 200, done.text
            login = await http.post(
                "/api/auth/login", json={"email": user["email"], "password": "remembered-now-1"}
            )
            assert login.status_code == 200

            made = await http.post(
                "/api/auth/register",
                json={
                    "email": "fresh@example.com",
                    "password": "a-good-secret",
                    "full_name": "Fresh Patient",
                },
            )
            assert made.status_code == 201, made.text
            await wait_for(lambda: smtp.inbox.to("fresh@example.com"), 20, what="verification")
            [verify] = text_links(smtp.inbox.to("fresh@example.com")[0])
            token = local(verify, base).removeprefix("/verify-email/")
            ok = await http.post("/api/auth/verify-email", json={"token": token})
            assert ok.status_code == 200, ok.text
    assert smtp.inbox.to("stranger@example.com") == [], "nothing for an unknown address"


async def test_a_booking_mail_and_sms_carry_links_that_work(
    owner_conn: asyncpg.Connection,
    database_url: str,
    smtp: SmtpServer,
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DENTALCARE_SMS_URL", gateway.url)
    dentist = await working_dentist(owner_conn)
    day = next_weekday(8)
    with serve(database_url, smtp_url=smtp.url, sms_url=gateway.url, **FAST) as server:
        base = server.app.state.settings.public_url.rstrip("/")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            made = await http.post(
                "/api/appointments",
                json={
                    "dentist_id": str(dentist["id"]),
                    "appointment_date": day.isoformat(),
                    "appointment_time": "10:00",
                    "patient_name": "Sam Guest",
                    "patient_email": "sam@example.com",
                    "patient_phone": "+44 7700 900123",
                },
            )
            assert made.status_code == 201, made.text
            appointment_id = made.json()["id"]
            await wait_for(lambda: smtp.inbox.to("sam@example.com"), 20, what="booking e-mail")
            await wait_for(lambda: gateway.received, 20, what="booking SMS")
            sms = gateway.received[0]["body"]
            assert sms["to"] == "+447700900123" and "Sam Guest" in sms["body"]
            urls = text_links(smtp.inbox.to("sam@example.com")[0])
            confirm = next(u for u in urls if "/manage/" in u)
            unsubscribe = next(u for u in urls if "/unsubscribe/" in u)
            page = await http.get(local(confirm, base))
            assert page.status_code == 200 and "Confirm I will come" in page.text
            done = await http.post(
                "/api" + local(confirm, base), json={"action": "confirm_attendance"}
            )
            assert done.status_code == 200, done.text
            assert done.json()["attendance_confirmed_at"] is not None

            waiting = await owner_conn.fetchval(
                "SELECT count(*) FROM messages WHERE kind = 'reminder' AND status = 'scheduled' "
                "AND channel = 'email' AND appointment_id = $1",
                appointment_id,
            )
            assert waiting >= 1
            gone = await http.post("/api" + local(unsubscribe, base))
            assert gone.status_code == 200, gone.text
            left = await owner_conn.fetchval(
                "SELECT count(*) FROM messages WHERE kind = 'reminder' AND status = 'scheduled' "
                "AND channel = 'email' AND appointment_id = $1",
                appointment_id,
            )
            assert left == 0, "the unsubscribed address gets no reminders"
            # Nor does its next booking (the opt-out is read with the booking's snapshot),
            # though it is still told it was received.
            again = await http.post(
                "/api/appointments",
                json={
                    "dentist_id": str(dentist["id"]),
                    "appointment_date": day.isoformat(),
                    "appointment_time": "11:00",
                    "patient_name": "Sam Guest",
                    "patient_email": "sam@example.com",
                    "patient_phone": "+44 7700 900123",
                },
            )
            assert again.status_code == 201, again.text
            kinds = await owner_conn.fetch(
                "SELECT kind FROM messages WHERE channel = 'email' AND appointment_id = $1",
                again.json()["id"],
            )
            assert [r["kind"] for r in kinds] == ["booking_received"]
            # The links were signed: the booking stored none, each use recorded one digest.
            assert await owner_conn.fetchval("SELECT count(*) FROM link_tokens") == 0
            assert await owner_conn.fetchval("SELECT count(*) FROM used_links") == 2
