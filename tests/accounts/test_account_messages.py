"""Each account message is written in the transaction of its cause, renders with working
links, and those links work when followed over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
import pytest

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


async def test_verifying_an_address_joins_the_guest_bookings_made_with_it(clinic: Clinic) -> None:
    address = "Returning.Guest@example.com"
    earlier = []
    for at in ("11:30", "14:00"):
        made = await clinic.http.post(
            "/api/appointments",
            json=clinic.booking(at=at, patient_name="Rita Returning", patient_email=address),
        )
        assert made.status_code == 201, made.text
        earlier.append(made.json()["id"])
    other = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(at="15:30", patient_email="someone.else@example.com"),
    )
    assert other.status_code == 201, other.text
    registered = await clinic.http.post(
        "/api/auth/register",
        json={
            "email": address.lower(),
            "password": "a-good-secret",
            "full_name": "Rita Returning",
        },
    )
    assert registered.status_code == 201, registered.text
    login = await clinic.http.post(
        "/api/auth/login", json={"email": address.lower(), "password": "a-good-secret"}
    )
    mine = {"Authorization": f"Bearer {login.json()['access_token']}"}
    before = await clinic.http.get("/api/appointments", headers=mine)
    assert before.json()["items"] == [], "nothing joins before the address is proven"

    [message] = await messages_of(clinic.conn, "email_verification")
    token = rendered_links(message)[0].rsplit("/", 1)[1]
    done = await clinic.http.post("/api/auth/verify-email", json={"token": token})
    assert done.status_code == 200, done.text
    assert done.json()["joined_bookings"] == 2

    after = await clinic.http.get("/api/appointments", headers=mine)
    assert sorted(a["id"] for a in after.json()["items"]) == sorted(earlier)
    user_id = await clinic.conn.fetchval("SELECT id FROM users WHERE email = $1", address.lower())
    owners = await clinic.conn.fetch(
        "SELECT id::text, patient_id FROM appointments WHERE id::text = ANY($1::text[])",
        [*earlier, other.json()["id"]],
    )
    assert {r["id"]: r["patient_id"] for r in owners} == {
        earlier[0]: user_id,
        earlier[1]: user_id,
        other.json()["id"]: None,
    }
    audited = await clinic.conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE entity = 'appointment' AND action = 'update' "
        "AND entity_id::text = ANY($1::text[]) AND changes ? 'patient_id'",
        earlier,
    )
    assert audited == 2, "each joined booking has its audit entry"


async def test_an_appointment_never_changes_owner_once_it_has_one(clinic: Clinic) -> None:
    owned = clinic.appointments["a"]
    other = clinic.users["patient_b"]
    async with clinic.conn.transaction():
        await clinic.conn.execute("SELECT set_config('app.role', 'system', true)")
        with pytest.raises(asyncpg.PostgresError, match="joins an account once"):
            await clinic.conn.execute(
                "UPDATE appointments SET patient_id = $1 WHERE id = $2", other["id"], owned["id"]
            )
    guest = clinic.appointments["guest"]
    async with clinic.conn.transaction():
        await clinic.conn.execute("SELECT set_config('app.role', 'admin', true)")
        with pytest.raises(asyncpg.PostgresError, match="joins an account once"):
            await clinic.conn.execute(
                "UPDATE appointments SET patient_id = $1 WHERE id = $2", other["id"], guest["id"]
            )


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


async def test_a_new_front_desk_login_gets_an_invitation_with_a_set_password_link(
    clinic: Clinic,
) -> None:
    created = await clinic.http.post(
        "/api/staff",
        json={"email": "desk.hire@example.com", "full_name": "Desk Hire", "role": "front_desk"},
        headers=clinic.auth("admin"),
    )
    assert created.status_code == 201, created.text
    assert created.json()["initial_password"], "the one-time password stays in the answer"
    [message] = await messages_of(clinic.conn, "staff_invitation")
    assert message["to_address"] == "desk.hire@example.com"
    assert context_of(message)["role"] == "front desk"
    [url] = rendered_links(message)
    token = url.rsplit("/", 1)[1]
    done = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "desk-own-secret-1"}
    )
    assert done.status_code == 200, done.text
    login = await clinic.http.post(
        "/api/auth/login", json={"email": "desk.hire@example.com", "password": "desk-own-secret-1"}
    )
    assert login.status_code == 200
    assert login.json()["user"]["role"] == "front_desk"
    again = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "another-secret-2"}
    )
    assert again.status_code == 410, "the invitation link works once"


async def test_a_refused_staff_login_sends_no_invitation(clinic: Clinic) -> None:
    body = {"email": "dup.desk@example.com", "full_name": "Dup Desk", "role": "front_desk"}
    first = await clinic.http.post("/api/staff", json=body, headers=clinic.auth("admin"))
    assert first.status_code == 201, first.text
    second = await clinic.http.post("/api/staff", json=body, headers=clinic.auth("admin"))
    assert second.status_code == 409, second.text
    assert len(await messages_of(clinic.conn, "staff_invitation")) == 1


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
