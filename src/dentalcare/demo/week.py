"""A realistic week of the demo clinic around the day the service starts (pure, no I/O).

Past days have completed visits, a no-show and a cancellation; today has visits done,
patients still to come and one waiting to be confirmed; the coming days fill up, some
booked through the assistant. The plan is the same for the same day and dentists
(seeded by the date), so a restart on the same day adds nothing new.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from dentalcare.vocabulary import BookingSource, Status, Urgency

DAYS_BEFORE = 3
DAYS_AFTER = 4
SLOT = timedelta(minutes=30)


@dataclass(frozen=True)
class DemoDentist:
    """What the plan needs of a dentist: their windows by weekday and their zone."""

    id: UUID
    timezone: str
    windows: dict[int, list[tuple[time, time]]]


@dataclass(frozen=True)
class DemoPatient:
    """Someone who comes to the clinic; `user_id` for the demo's patient logins."""

    name: str
    email: str
    phone: str
    age: int | None = None
    allergies: str | None = None
    medications: str | None = None
    conditions: str | None = None
    user_id: UUID | None = None


@dataclass(frozen=True)
class PlannedVisit:
    """One appointment to insert."""

    dentist_id: UUID
    on: date
    at: time
    patient: DemoPatient
    status: Status
    source: BookingSource
    chief_complaint: str | None = None
    symptoms: str | None = None
    urgency: Urgency | None = None
    notes: str | None = None
    cancellation_reason: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


GUESTS = (
    DemoPatient("Olivia Martin", "olivia.martin@example.com", "+1 555 0142", 34),
    DemoPatient(
        "Noah Thompson",
        "noah.thompson@example.com",
        "+1 555 0178",
        61,
        allergies="Penicillin (severe: anaphylaxis)",
        medications="Warfarin 5 mg daily",
        conditions="Atrial fibrillation",
    ),
    DemoPatient("Ava Robinson", "ava.robinson@example.com", "+1 555 0119", 8),
    DemoPatient("Liam Walker", "liam.walker@example.com", "+1 555 0163", 27),
    DemoPatient(
        "Mia Hernandez",
        "mia.hernandez@example.com",
        "+1 555 0105",
        45,
        allergies="Latex",
        conditions="Type 2 diabetes",
        medications="Metformin",
    ),
    DemoPatient("Ethan Lewis", "ethan.lewis@example.com", "+1 555 0191", 52),
    DemoPatient("Isabella Young", "isabella.young@example.com", "+1 555 0127", 16),
    DemoPatient("James King", "james.king@example.com", "+1 555 0150", 70, medications="Aspirin"),
    DemoPatient("Sophia Scott", "sophia.scott@example.com", "+1 555 0136", 39),
    DemoPatient("Lucas Green", "lucas.green@example.com", "+1 555 0184", 23),
)

# What patients say when they book through the assistant: (complaint, symptoms, urgency).
CHAT_REASONS: tuple[tuple[str, str, Urgency], ...] = (
    ("Toothache", "Throbbing pain lower left for 3 days, worse at night", "urgent"),
    ("Broken tooth", "Chipped a front tooth on a fork, no pain", "routine"),
    ("Check-up", "Six-month check-up", "routine"),
    ("Sensitive teeth", "Sharp pain with cold drinks", "routine"),
    ("Bleeding gums", "Gums bleed when brushing for two weeks", "routine"),
)
FORM_REASONS = ("Check-up and clean", "Filling", "Consultation about braces", None, None)


def _starts(dentist: DemoDentist, on: date) -> list[time]:
    starts: list[time] = []
    for begin, end in dentist.windows.get(on.weekday(), []):
        at = datetime.combine(on, begin)
        while at + SLOT <= datetime.combine(on, end):
            starts.append(at.time())
            at += SLOT
    return starts


def plan_week(
    *,
    dentists: Sequence[DemoDentist],
    patients: Sequence[DemoPatient],
    now: datetime,
    taken_days: Iterable[tuple[UUID, date]] = (),
) -> list[PlannedVisit]:
    """The visits of the days around `now` (by each dentist's local date), leaving out the
    (dentist, day) pairs that already have appointments."""
    skip = set(taken_days)
    people = [*patients, *GUESTS]
    visits: list[PlannedVisit] = []
    for dentist in dentists:
        local_now = now.astimezone(ZoneInfo(dentist.timezone))
        today = local_now.date()
        for offset in range(-DAYS_BEFORE, DAYS_AFTER + 1):
            on = today + timedelta(days=offset)
            if (dentist.id, on) in skip:
                continue
            starts = _starts(dentist, on)
            if not starts:
                continue
            rng = random.Random(f"{on.isoformat()}|{dentist.id}")
            count = min(len(starts), rng.randint(3, 6))
            chosen = sorted(rng.sample(starts, count))
            for n, at in enumerate(chosen):
                begun = datetime.combine(on, at, local_now.tzinfo) <= local_now
                visits.append(_visit(dentist.id, on, at, rng.choice(people), rng, begun, n))
    return visits


def _visit(
    dentist_id: UUID,
    on: date,
    at: time,
    patient: DemoPatient,
    rng: random.Random,
    begun: bool,
    n: int,
) -> PlannedVisit:
    by_chat = rng.random() < 0.35
    complaint: str | None
    symptoms: str | None = None
    urgency: Urgency | None = None
    if by_chat:
        complaint, symptoms, urgency = rng.choice(CHAT_REASONS)
    else:
        complaint = rng.choice(FORM_REASONS)
    roll = rng.random()
    cancellation_reason = None
    status: Status
    if begun:
        # Most past visits happened; a few were missed or called off.
        status = "completed" if roll < 0.78 else "no_show" if roll < 0.9 else "cancelled"
    else:
        status = "confirmed" if roll < 0.6 else "pending" if roll < 0.92 else "cancelled"
    if status == "cancelled":
        cancellation_reason = rng.choice(("Feeling unwell", "Work came up", "Booked elsewhere"))
    return PlannedVisit(
        dentist_id=dentist_id,
        on=on,
        at=at,
        patient=patient,
        status=status,
        source="chatbot" if by_chat else ("admin" if n % 5 == 4 else "manual"),
        chief_complaint=complaint,
        symptoms=symptoms,
        urgency=urgency,
        cancellation_reason=cancellation_reason,
    )
