"""One-click manage links over real HTTP: each does one thing, once, until it expires."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dentalcare.db.claims import SYSTEM, Claims, set_claims
from dentalcare.links import service as links
from tests.fixtures.clinic import Clinic


async def issue(conn: asyncpg.Connection, **fields: Any) -> str:
    """A link token written as the service writes one (system claims, own transaction)."""
    async with conn.transaction():
        await set_claims(conn, SYSTEM)
        return await links.issue(conn, **fields)


async def manage_urls(conn: asyncpg.Connection, appointment: Any) -> dict[str, str]:
    """The links a booking message carries (signed: nothing is written)."""
    return links.manage_links(appointment)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_confirm_link_sets_attendance_once_then_is_gone(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]
    urls = await manage_urls(clinic.conn, appointment)
    assert set(urls) == {"confirm", "cancel", "reschedule", "unsubscribe"}
    assert all(u.startswith("http") for u in urls.values())
    token = token_of(urls["confirm"])

    shown = await clinic.http.get(f"/api/manage/{token}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["action"] == "confirm_attendance"
    assert shown.json()["appointment"]["id"] == str(appointment["id"])

    done = await clinic.http.post(f"/api/manage/{token}", json={"action": "confirm_attendance"})
    assert done.status_code == 200, done.text
    assert done.json()["attendance_confirmed_at"] is not None
    at = await clinic.conn.fetchval(
        "SELECT attendance_confirmed_at FROM appointments WHERE id = $1", appointment["id"]
    )
    assert at is not None

    again = await clinic.http.post(f"/api/manage/{token}", json={"action": "confirm_attendance"})
    assert again.status_code == 410
    assert again.json()["error"] == "LinkExpired"
    assert (await clinic.http.get(f"/api/manage/{token}")).status_code == 410


async def test_a_link_does_only_its_own_action(clinic: Clinic) -> None:
    urls = await manage_urls(clinic.conn, clinic.appointments["a"])
    wrong = await clinic.http.post(
        f"/api/manage/{token_of(urls['confirm'])}", json={"action": "cancel"}
    )
    assert wrong.status_code == 410
    status = await clinic.conn.fetchval(
        "SELECT status FROM appointments WHERE id = $1", clinic.appointments["a"]["id"]
    )
    assert status == "pending"


async def test_cancel_link_cancels_a_patients_booking(clinic: Clinic) -> None:
    appointment = clinic.appointments["a"]  # patient A's, a week ahead
    urls = await manage_urls(clinic.conn, appointment)
    done = await clinic.http.post(
        f"/api/manage/{token_of(urls['cancel'])}", json={"action": "cancel"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled"
    assert done.json()["allergies"] is None
    row = await clinic.conn.fetchrow(
        "SELECT status, cancellation_reason FROM appointments WHERE id = $1", appointment["id"]
    )
    assert row["status"] == "cancelled"
    assert "link" in row["cancellation_reason"]


async def test_cancel_inside_the_notice_is_refused_and_the_link_kept(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]  # a week ahead
    # A notice of 30 days: a visit a week ahead can no longer be cancelled online.
    await clinic.conn.execute("UPDATE clinic_settings SET cancellation_notice_hours = 720")
    urls = await manage_urls(clinic.conn, appointment)
    token = token_of(urls["cancel"])
    refused = await clinic.http.post(f"/api/manage/{token}", json={"action": "cancel"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "PolicyViolation"
    status = await clinic.conn.fetchval(
        "SELECT status FROM appointments WHERE id = $1", appointment["id"]
    )
    assert status == "pending"
    await clinic.conn.execute("UPDATE clinic_settings SET cancellation_notice_hours = 24")
    allowed = await clinic.http.post(f"/api/manage/{token}", json={"action": "cancel"})
    assert allowed.status_code == 200, "the refused attempt did not use the link up"


async def test_expired_forged_and_unknown_links_all_answer_410(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]
    expired = await issue(
        clinic.conn,
        purpose="confirm_attendance",
        appointment_id=appointment["id"],
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    live = await issue(
        clinic.conn,
        purpose="confirm_attendance",
        appointment_id=appointment["id"],
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    forged = live.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    for token in (expired, forged, "not-a-token", "0" * 32 + ".x"):
        answer = await clinic.http.post(
            f"/api/manage/{token}", json={"action": "confirm_attendance"}
        )
        assert answer.status_code == 410, (token, answer.text)
        assert answer.json()["error"] == "LinkExpired"
    assert (
        await clinic.conn.fetchval(
            "SELECT attendance_confirmed_at FROM appointments WHERE id = $1", appointment["id"]
        )
        is None
    )
    ok = await clinic.http.post(f"/api/manage/{live}", json={"action": "confirm_attendance"})
    assert ok.status_code == 200


async def test_reschedule_link_moves_the_visit(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]
    urls = await manage_urls(clinic.conn, appointment)
    token = token_of(urls["reschedule"])
    missing = await clinic.http.post(f"/api/manage/{token}", json={"action": "reschedule"})
    assert missing.status_code == 422
    moved = await clinic.http.post(
        f"/api/manage/{token}",
        json={
            "action": "reschedule",
            "appointment_date": clinic.day.isoformat(),
            "appointment_time": "14:00",
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["appointment_time"].startswith("14:00")
    again = await clinic.http.post(
        f"/api/manage/{token}",
        json={
            "action": "reschedule",
            "appointment_date": clinic.day.isoformat(),
            "appointment_time": "15:00",
        },
    )
    assert again.status_code == 410


async def test_unsubscribe_link_records_the_opt_out_once(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]
    urls = await manage_urls(clinic.conn, appointment)
    token = token_of(urls["unsubscribe"])
    done = await clinic.http.post(f"/api/unsubscribe/{token}")
    assert done.status_code == 200, done.text
    async with clinic.conn.transaction():
        await set_claims(clinic.conn, SYSTEM)
        assert not await links.reminders_allowed(clinic.conn, "GUEST@example.com")
        assert await links.reminders_allowed(clinic.conn, "someone.else@example.com")
    assert (await clinic.http.post(f"/api/unsubscribe/{token}")).status_code == 410


def _tampered(token: str, part: int) -> str:
    """`token` with one character of its payload (1) or mac (2) changed."""
    pieces = token.split(".")
    text = pieces[part]
    pieces[part] = text[:5] + ("A" if text[5] != "A" else "B") + text[6:]
    return ".".join(pieces)


async def test_signed_links_refuse_tampering_expiry_and_another_purpose(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]
    token = token_of((await manage_urls(clinic.conn, appointment))["confirm"])
    assert token.startswith("1.") and token.count(".") == 2
    expired = links.signed_link(
        purpose="confirm_attendance",
        appointment_id=appointment["id"],
        email=appointment["patient_email"],
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    for bad in (_tampered(token, 1), _tampered(token, 2), expired, token + "A", "1.x.y"):
        answer = await clinic.http.post(f"/api/manage/{bad}", json={"action": "confirm_attendance"})
        assert answer.status_code == 410, (bad, answer.text)
        assert (await clinic.http.get(f"/api/manage/{bad}")).status_code == 410
    cancel = token_of((await manage_urls(clinic.conn, appointment))["cancel"])
    wrong = await clinic.http.post(f"/api/manage/{cancel}", json={"action": "confirm_attendance"})
    assert wrong.status_code == 410
    assert await clinic.conn.fetchval("SELECT count(*) FROM used_links") == 0
    ok = await clinic.http.post(f"/api/manage/{token}", json={"action": "confirm_attendance"})
    assert ok.status_code == 200, ok.text


async def test_two_links_from_two_messages_are_distinct_and_each_works_once(
    clinic: Clinic,
) -> None:
    appointment = clinic.appointments["guest"]
    first = token_of((await manage_urls(clinic.conn, appointment))["reschedule"])
    second = token_of((await manage_urls(clinic.conn, appointment))["reschedule"])
    assert first != second
    shown = [await clinic.http.get(f"/api/manage/{t}") for t in (first, second)]
    assert [r.status_code for r in shown] == [200, 200]
    # Two clicks racing on one link: one moves the visit, the other finds the link used.
    body = {
        "action": "reschedule",
        "appointment_date": clinic.day.isoformat(),
        "appointment_time": "14:00",
    }
    answers = await asyncio.gather(
        *(clinic.http.post(f"/api/manage/{first}", json=body) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [200, 410], [a.text for a in answers]
    later = await clinic.http.post(
        f"/api/manage/{second}", json={**body, "appointment_time": "15:00"}
    )
    assert later.status_code == 200, later.text
    assert await clinic.conn.fetchval("SELECT count(*) FROM used_links") == 2


async def test_signed_links_die_when_the_address_changes(clinic: Clinic) -> None:
    appointment = clinic.appointments["guest"]
    urls = await manage_urls(clinic.conn, appointment)
    await clinic.conn.execute(
        "UPDATE appointments SET patient_email = 'corrected@example.com' WHERE id = $1",
        appointment["id"],
    )
    confirm, unsubscribe = token_of(urls["confirm"]), token_of(urls["unsubscribe"])
    assert (await clinic.http.get(f"/api/manage/{confirm}")).status_code == 410
    used = await clinic.http.post(f"/api/manage/{confirm}", json={"action": "confirm_attendance"})
    assert used.status_code == 410
    assert (await clinic.http.post(f"/api/unsubscribe/{unsubscribe}")).status_code == 410
    assert await clinic.conn.fetchval("SELECT count(*) FROM reminder_optouts") == 0
    assert (
        await clinic.conn.fetchval(
            "SELECT attendance_confirmed_at FROM appointments WHERE id = $1", appointment["id"]
        )
        is None
    )
    fresh = await manage_urls(
        clinic.conn, {**appointment, "patient_email": "corrected@example.com"}
    )
    done = await clinic.http.post(
        f"/api/manage/{token_of(fresh['confirm'])}", json={"action": "confirm_attendance"}
    )
    assert done.status_code == 200, done.text


async def test_link_tokens_are_private_to_the_service(clinic: Clinic) -> None:
    """The app role under a caller's claims sees no link rows at all."""
    urls = await manage_urls(clinic.conn, clinic.appointments["guest"])
    await issue(
        clinic.conn,
        purpose="confirm_attendance",
        appointment_id=clinic.appointments["guest"]["id"],
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    used = await clinic.http.post(
        f"/api/manage/{token_of(urls['confirm'])}", json={"action": "confirm_attendance"}
    )
    assert used.status_code == 200, used.text
    assert await clinic.conn.fetchval("SELECT count(*) FROM used_links") == 1
    assert await clinic.conn.fetchval("SELECT count(*) FROM link_tokens") == 1
    async with clinic.conn.transaction():
        await clinic.conn.execute("SET LOCAL ROLE dentalcare_app")
        await set_claims(clinic.conn, Claims("admin"))
        assert await clinic.conn.fetchval("SELECT count(*) FROM link_tokens") == 0
        assert await clinic.conn.fetchval("SELECT count(*) FROM used_links") == 0
