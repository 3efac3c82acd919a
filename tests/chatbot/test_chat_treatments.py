"""The chat books the clinic's own treatment type for what it heard (issue 12 item 7):
the complaint's kind maps to the clinic's type by name or words, only its performers are
offered, slots have its length, the booking names it; no fitting type: the default."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

import asyncpg
import httpx
import pytest

from dentalcare.chatbot import treatments
from tests.fixtures.clinic import ChatClinic

DETAILS = "Jane Doe, jane@example.com, 07700 900123"
STANDARD = uuid.UUID("00000000-0000-4000-8000-000000000001")

# The clinic's own names for its treatments (none is the chat's kind name but Filling's),
# and who performs each (by the demo dentist's surname; none listed: everyone).
CLINIC_TYPES: list[tuple[str, int, tuple[str, ...]]] = [
    ("Routine exam", 30, ("Smith",)),
    ("Hygienist clean", 45, ("Smith",)),
    ("Root canal therapy", 90, ("Garcia",)),
    ("Emergency appointment", 30, ()),
    ("Kids' check", 20, ("Chen",)),
    ("Braces consultation", 30, ("Patel",)),
    ("Filling", 60, ("Smith",)),
    ("Veneers (phone us)", 60, ()),  # not bookable online
]


@pytest.mark.parametrize(
    ("kind", "names", "expected"),
    [
        ("Check-up", ["Child check-up", "Routine exam"], "Routine exam"),
        ("Check-up", ["Orthodontic consultation", "New patient exam"], "New patient exam"),
        ("Child check-up", ["Check-up", "Kids' check"], "Kids' check"),
        ("Child check-up", ["Dental check-up"], "Dental check-up"),
        ("Scale & polish", ["Hygiene appointment"], "Hygiene appointment"),
        ("Root canal", ["Root canal therapy"], "Root canal therapy"),
        ("Filling", ["Root filling", "White filling"], "White filling"),
        ("Extraction", ["Wisdom tooth removal", "Tooth extraction"], "Tooth extraction"),
        (
            "Wisdom tooth removal",
            ["Tooth extraction", "Wisdom teeth removal"],
            "Wisdom teeth removal",
        ),
        ("Orthodontic consultation", ["Invisalign consult"], "Invisalign consult"),
        ("Emergency visit", ["Same-day emergency"], "Same-day emergency"),
        ("emergency visit", ["Emergency visit"], "Emergency visit"),
        ("Whitening", ["Check-up", "Filling"], None),
        (None, ["Check-up"], None),
    ],
)
def test_a_kind_maps_to_the_clinics_own_names(
    kind: str | None, names: list[str], expected: str | None
) -> None:
    index = treatments.clinic_type(kind, names)
    assert (names[index] if index is not None else None) == expected


async def _clinic_types(clinic: ChatClinic) -> dict[str, uuid.UUID]:
    """The clinic's treatment types, written as the admin pages would."""
    by_name = {d["name"].split()[-1]: d["id"] for d in clinic.dentists}
    ids: dict[str, uuid.UUID] = {}
    for name, minutes, who in CLINIC_TYPES:
        type_id = await clinic.conn.fetchval(
            """INSERT INTO treatment_types (name, duration_minutes, bookable_online)
               VALUES ($1, $2, $3) RETURNING id""",
            name,
            minutes,
            not name.startswith("Veneers"),
        )
        for surname in who:
            await clinic.conn.execute(
                "INSERT INTO treatment_dentists (treatment_type_id, dentist_id) VALUES ($1, $2)",
                type_id,
                by_name[surname],
            )
        ids[name] = type_id
    return ids


class Chat:
    """One guest conversation over the chat HTTP API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.session = ""

    async def start(self) -> None:
        response = await self.http.post("/api/chat/sessions")
        assert response.status_code == 201, response.text
        self.session = response.json()["session_id"]

    async def say(self, text: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/api/chat/sessions/{self.session}/messages", json={"text": text}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _offered(body: dict[str, Any]) -> list[dict[str, Any]]:
    offered: list[dict[str, Any]] = body["state"]["collected"]["offered"]
    return offered


def _choice(body: dict[str, Any]) -> str:
    values = [q["value"] for m in body["messages"] for q in m["quick_replies"]]
    return [v for v in values if v != "other times"][0]


async def _book(chat: Chat, offer: dict[str, Any]) -> asyncpg.Record:
    await chat.say(_choice(offer))
    await chat.say(DETAILS)
    done = await chat.say("yes")
    assert done["appointment"] is not None, done["messages"]
    return done["appointment"]


async def _row(clinic: ChatClinic, appointment: dict[str, Any]) -> asyncpg.Record:
    row: asyncpg.Record = await clinic.conn.fetchrow(
        """SELECT a.*, d.name AS dentist_name, extract(epoch FROM a.ends_at - a.starts_at)
                  / 60 AS minutes
           FROM appointments a JOIN dentists d ON d.id = a.dentist_id WHERE a.id = $1""",
        uuid.UUID(appointment["id"]),
    )
    return row


@pytest.mark.parametrize(
    ("opening", "type_name", "surnames", "minutes"),
    [
        ("I'd like to book a check-up next week please", "Routine exam", {"Smith"}, 30),
        ("can i get my teeth cleaned next week, tartar is bad", "Hygienist clean", {"Smith"}, 45),
        ("my dentist said I need a root canal, any time next week", "Root canal therapy",
         {"Garcia"}, 90),
        ("a check-up next week for my 6 year old daughter", "Kids' check", {"Chen"}, 20),
        ("my son is 12 and needs braces, next week is fine", "Braces consultation",
         {"Patel"}, 30),
        ("I need a filling replaced, next week", "Filling", {"Smith"}, 60),
    ],
)  # fmt: skip
async def test_the_complaint_books_the_clinics_treatment_with_its_performers(
    chat_http: httpx.AsyncClient,
    chat_clinic: ChatClinic,
    opening: str,
    type_name: str,
    surnames: set[str],
    minutes: int,
) -> None:
    ids = await _clinic_types(chat_clinic)
    chat = Chat(chat_http)
    await chat.start()
    offer = await chat.say(opening)
    offered = _offered(offer)
    assert offered, offer["messages"]
    assert {s["dentist_name"].split()[-1] for s in offered} == surnames
    # The dentists work 09:00-17:00: a treatment of this length must end by 17:00.
    latest = time(17 - (minutes + 59) // 60, (60 - minutes % 60) % 60)
    assert all(time.fromisoformat(s["time"]) <= latest for s in offered)
    row = await _row(chat_clinic, await _book(chat, offer))
    assert row["treatment_type_id"] == ids[type_name]
    assert row["minutes"] == minutes
    assert row["dentist_name"].split()[-1] in surnames
    assert row["booking_source"] == "chatbot"


async def test_pain_is_booked_as_the_clinics_emergency_appointment(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    ids = await _clinic_types(chat_clinic)
    chat = Chat(chat_http)
    await chat.start()
    screened = await chat.say("really bad toothache since last night, can't sleep")
    assert screened["state"]["stage"] == "screen"
    offer = await chat.say("no, none of those")
    assert _offered(offer), offer["messages"]
    row = await _row(chat_clinic, await _book(chat, offer))
    assert row["treatment_type_id"] == ids["Emergency appointment"]
    assert row["urgency"] == "urgent"
    assert "toothache" in row["chief_complaint"]


async def test_no_fitting_type_books_the_clinics_default(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    await _clinic_types(chat_clinic)  # no whitening among them
    chat = Chat(chat_http)
    await chat.start()
    offer = await chat.say("I'd like my teeth whitened next week")
    assert _offered(offer), offer["messages"]
    row = await _row(chat_clinic, await _book(chat, offer))
    assert row["treatment_type_id"] == STANDARD


async def test_prices_and_lengths_come_from_the_clinics_treatments(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    ids = await _clinic_types(chat_clinic)
    await chat_clinic.conn.execute(
        "UPDATE treatment_types SET price = 85.5 WHERE id = $1", ids["Root canal therapy"]
    )
    await chat_clinic.conn.execute("UPDATE clinic_settings SET phone = '+44 20 7946 0000'")
    chat = Chat(chat_http)
    await chat.start()
    answer = await chat.say("how much is a root canal?")
    said = " ".join(m["text"] for m in answer["messages"])
    assert "85.50" in said
    answer = await chat.say("what's your phone number?")
    said = " ".join(m["text"] for m in answer["messages"])
    assert "+44 20 7946 0000" in said
