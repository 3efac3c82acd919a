"""Each account message is written in the transaction of its cause, renders with working
links, and those links work when followed over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg

from dentalcare.outbox.rendering import render
from tests.fixtures.clinic import Clinic

LINK = re.compile(r"https?://[^\s\"<>]+")


def context_of(message: Any) -> dict[str, Any]:
    """A message row's context (jsonb: decoded already, or text)."""
    value = message["context"]
    return value if isinstance(value, dict) else json.loads(value)


async def messages_of(conn: asyncpg.Connection, kind: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT kind, channel, to_address, context FROM messages "
        "WHERE kind = $1 ORDER BY created_at",
        kind,
    )


def rendered_links(message: asyncpg.Record) -> list[str]:
    """The links of the message's text part, which must be its HTML part's too."""
    context: dict[str, Any] = context_of(message)
    body = render(message["kind"], context)
    text_links = LINK.findall(body.text)
    html_links = [u.replace("&amp;", "&") for u in LINK.findall(body.html)]
    assert text_links and set(text_links) == set(html_links)
    return text_links


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


async def test_a_reset_message_goes_only_to_known_addresses_and_its_link_works(
    clinic: Clinic,
) -> None:
    user = clinic.users["patient_a"]
    await clinic.http.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
    assert await messages_of(clinic.conn, "password_reset") == []
    await clinic.http.post("/api/auth/password-reset", json={"email": user["email"].upper()})
    [message] = await messages_of(clinic.conn, "password_reset")
    assert (message["channel"], message["to_address"]) == ("email", user["email"])
    [url] = rendered_links(message)
    assert "/reset-password/" in url
    token = url.rsplit("/", 1)[1]
    done = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "from-the-mail-1"}
    )
    assert done.status_code == 200, done.text
    login = await clinic.http.post(
        "/api/auth/login", json={"email": user["email"], "password": "from-the-mail-1"}
    )
    assert login.status_code == 200


async def test_registration_sends_a_verification_link_that_verifies(clinic: Clinic) -> None:
    answer = await clinic.http.post(
        "/api/auth/register",
        json={
            "email": "new.patient@example.com",
            "password": "a-good-secret",
            "full_name": "New Patient",
        },
    )
    assert answer.status_code == 201, answer.text
    [message] = await messages_of(clinic.conn, "email_verification")
    assert message["to_address"] == "new.patient@example.com"
    [url] = rendered_links(message)
    token = url.rsplit("/", 1)[1]
    done = await clinic.http.post("/api/auth/verify-email", json={"token": token})
    assert done.status_code == 200, done.text
    verified = await clinic.conn.fetchval(
        "SELECT email_verified_at FROM users WHERE email = 'new.patient@example.com'"
    )
    assert verified is not None


async def test_a_new_dentist_gets_an_invitation_with_a_set_password_link(clinic: Clinic) -> None:
    created = await clinic.http.post(
        "/api/dentists",
        json={"name": "Dr New Hire", "email": "new.hire@example.com"},
        headers=clinic.auth("admin"),
    )
    assert created.status_code == 201, created.text
    assert created.json()["initial_password"], "the one-time password stays in the answer"
    [message] = await messages_of(clinic.conn, "staff_invitation")
    assert message["to_address"] == "new.hire@example.com"
    [url] = rendered_links(message)
    token = url.rsplit("/", 1)[1]
    done = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "my-own-secret-1"}
    )
    assert done.status_code == 200, done.text
    login = await clinic.http.post(
        "/api/auth/login", json={"email": "new.hire@example.com", "password": "my-own-secret-1"}
    )
    assert login.status_code == 200


async def test_a_guest_gets_their_bookings_with_links_and_strangers_get_nothing(
    clinic: Clinic,
) -> None:
    stranger = await clinic.http.post("/api/bookings/email-me", json={"email": "no@example.com"})
    guest = await clinic.http.post("/api/bookings/email-me", json={"email": "guest@example.com"})
    assert stranger.status_code == guest.status_code == 202
    assert stranger.json() == guest.json()
    [message] = await messages_of(clinic.conn, "guest_bookings")
    assert message["to_address"] == "guest@example.com"
    context = context_of(message)
    [booking] = context["bookings"]
    assert booking["booking_reference"] == clinic.appointments["guest"]["booking_reference"]
    assert "(UTC)" in booking["when"]
    urls = rendered_links(message)
    assert len(urls) == 3
    confirm = next(u for u in urls if u == booking["links"]["confirm"])
    shown = await clinic.http.get("/api" + path_of(confirm))
    assert shown.status_code == 200
    done = await clinic.http.post("/api" + path_of(confirm), json={"action": "confirm_attendance"})
    assert done.status_code == 200, done.text
