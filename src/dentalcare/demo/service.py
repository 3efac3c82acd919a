"""Load the demo clinic: 5 dentists with weekly schedules and lunch breaks, an admin, 2
patients, and a week of appointments around today (topped up at every start)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from dentalcare.appointments.service import new_reference
from dentalcare.auth import repository as users
from dentalcare.auth.passwords import hash_password
from dentalcare.availability import repository as availability
from dentalcare.config import Settings
from dentalcare.db.pool import SYSTEM, Connection, Database
from dentalcare.demo import repository
from dentalcare.demo.week import DAYS_AFTER, DAYS_BEFORE, DemoDentist, DemoPatient, plan_week
from dentalcare.dentists import repository as dentists
from dentalcare.outbox import bookings as messages
from dentalcare.vocabulary import ACTIVE

DEMO_TIMEZONE = "America/New_York"
# Upcoming demo bookings whose "booking received" (and reminders) go to the outbox.
DEMO_MESSAGES = 6
ADMIN_PASSWORD = "demo-admin-2026"
FRONT_DESK_PASSWORD = "demo-desk-2026"
DENTIST_PASSWORD = "demo-dentist-2026"
PATIENT_PASSWORD = "demo-patient-2026"


@dataclass(frozen=True)
class DemoLogin:
    """A login the demo creates, printed at start-up and listed in the README."""

    role: str
    email: str
    password: str
    name: str


DENTISTS = [
    ("Dr Sarah Smith", "General Dentistry", 12, "Family dentistry, check-ups and fillings."),
    ("Dr Raj Patel", "Orthodontics", 9, "Braces and clear aligners for all ages."),
    ("Dr Emily Chen", "Pediatric Dentistry", 7, "Gentle care for children and anxious patients."),
    ("Dr Marcus Johnson", "Oral Surgery", 15, "Extractions, wisdom teeth and implants."),
    ("Dr Sofia Garcia", "Endodontics", 10, "Root canal treatment and dental pain."),
]

# What the demo clinic does: (name, minutes, buffer before, after, recall months, price,
# who performs it by specialty (none: everyone), description).
_GENERAL, _ORTHO, _CHILDREN, _SURGERY, _ENDO = (d[0] for d in DENTISTS)
TREATMENTS = [
    ("Check-up", 30, 0, 5, 6, 60.0, (), "Examination, advice and X-rays when needed."),
    ("Scale & polish", 45, 0, 5, 6, 80.0, (_GENERAL, _CHILDREN), "Cleaning by the dentist."),
    ("Filling", 60, 0, 10, None, 150.0, (_GENERAL, _CHILDREN), "A cavity repaired."),
    ("Root canal", 90, 0, 15, None, 700.0, (_ENDO, _GENERAL), "Endodontic treatment."),
    ("Extraction", 45, 0, 15, None, 200.0, (_SURGERY, _GENERAL), "A tooth removed."),
    ("Wisdom tooth removal", 60, 0, 15, None, 350.0, (_SURGERY,), "Surgical removal."),
    ("Orthodontic consultation", 30, 0, 0, None, 50.0, (_ORTHO,), "Braces and aligners."),
    ("Child check-up", 20, 0, 5, 6, 40.0, (_CHILDREN, _GENERAL), "For children under 16."),
    ("Emergency visit", 30, 0, 5, None, 90.0, (), "Pain, swelling or a broken tooth, today."),
    ("Whitening", 60, 0, 5, None, 300.0, (_GENERAL,), "In-chair tooth whitening."),
]
DEFAULT_TREATMENT = "Check-up"
# Four chairs for five dentists: the chair constraint is part of the demo. Each dentist's
# usual chair, by index into DENTISTS.
CHAIRS = ["Chair 1", "Chair 2", "Chair 3", "Chair 4"]
_DEFAULT_CHAIR = [0, 1, 2, 3, 1]
CLINIC = {
    "name": "DentalCareConnect Demo Clinic",
    "phone": "+1 212 555 0100",
    "email": "frontdesk@example.com",
    "address": "1 Demo Street, New York, NY 10001",
}

# Mornings and afternoons with a lunch break; each dentist has a slightly different week.
_MORNING = (time(9, 0), time(12, 30))
_AFTERNOON = (time(13, 30), time(17, 0))
_WEEKDAYS = {
    0: [0, 1, 2, 3, 4],
    1: [0, 1, 2, 3],
    2: [1, 2, 3, 4, 5],
    3: [0, 2, 4],
    4: [0, 1, 3, 4],
}


def _email(name: str) -> str:
    return "dr." + name.split()[-1].lower() + "@example.com"


def demo_logins() -> list[DemoLogin]:
    """Every login of the demo clinic."""
    logins = [DemoLogin("admin", "admin@example.com", ADMIN_PASSWORD, "Clinic Admin")]
    logins += [DemoLogin("front_desk", "desk@example.com", FRONT_DESK_PASSWORD, "Rita Reception")]
    logins += [DemoLogin("dentist", _email(n), DENTIST_PASSWORD, n) for n, *_ in DENTISTS]
    logins += [
        DemoLogin("patient", "alice@example.com", PATIENT_PASSWORD, "Alice Brown"),
        DemoLogin("patient", "bob@example.com", PATIENT_PASSWORD, "Bob Wilson"),
    ]
    return logins


async def load_demo(
    db: Database, *, timezone: str, now: datetime | None = None, settings: Settings | None = None
) -> list[DemoLogin]:
    """Create the demo clinic unless it is already there, give it a week of appointments
    around today (the upcoming ones' first messages in the outbox, so /admin/mail shows
    real mail on a fresh machine), and return its logins (those still active)."""
    logins = demo_logins()
    async with db.unit_of_work(SYSTEM) as uow:
        conn = await uow.connection()
        if await users.user_by_email(conn, logins[0].email) is None:
            await _create_clinic(conn, logins, timezone=timezone)
        if not await repository.has_treatment(conn, DEFAULT_TREATMENT):
            await _create_scheduling(conn, timezone=timezone)
        await _fill_week(conn, logins, now=now or datetime.now(UTC), settings=settings)
        active = await repository.active_logins(conn, [login.email for login in logins])
    return [login for login in logins if login.email in active]


async def _create_clinic(conn: Connection, logins: list[DemoLogin], *, timezone: str) -> None:
    for login in logins:
        user = await users.insert_user(
            conn,
            email=login.email,
            password_hash=hash_password(login.password),
            role=login.role,
            full_name=login.name,
            phone="+1 555 0100",
        )
        if login.role != "dentist":
            continue
        index = next(i for i, d in enumerate(DENTISTS) if d[0] == login.name)
        name, specialization, years, bio = DENTISTS[index]
        dentist = await dentists.insert_dentist(
            conn,
            user_id=user["id"],
            name=name,
            email=login.email,
            specialization=specialization,
            bio=bio,
            years_of_experience=years,
            timezone=timezone,
            slot_minutes=30,
        )
        windows = [
            (day, start, end, True)
            for day in _WEEKDAYS[index]
            for start, end in (_MORNING, _AFTERNOON)
        ]
        await availability.replace_weekly(conn, dentist_id=dentist["id"], windows=windows)


async def _create_scheduling(conn: Connection, *, timezone: str) -> None:
    """The demo's treatment types, chairs and clinic settings."""
    ids = await repository.dentist_ids_by_email(conn, [_email(d[0]) for d in DENTISTS])
    by_name = {d[0]: ids.get(_email(d[0])) for d in DENTISTS}
    default = None
    for name, minutes, before, after, recall, price, who, description in TREATMENTS:
        treatment_id = await repository.insert_treatment(
            conn,
            name=name,
            description=description,
            duration=minutes,
            before=before,
            after=after,
            recall_months=recall,
            price=price,
            dentist_ids=[i for i in (by_name[n] for n in who) if i is not None],
        )
        if name == DEFAULT_TREATMENT:
            default = treatment_id
    assert default is not None
    chairs = [await repository.insert_chair(conn, name) for name in CHAIRS]
    for index, (name, *_) in enumerate(DENTISTS):
        dentist_id = by_name[name]
        if dentist_id is not None:
            await repository.set_default_chair(conn, dentist_id, chairs[_DEFAULT_CHAIR[index]])
    await repository.set_clinic(conn, default_treatment_id=default, timezone=timezone, **CLINIC)


async def _fill_week(
    conn: Connection, logins: list[DemoLogin], *, now: datetime, settings: Settings | None
) -> None:
    rows = await repository.demo_dentists(conn, [x.email for x in logins if x.role == "dentist"])
    demo = [
        DemoDentist(
            id=r["id"],
            timezone=r["timezone"],
            windows=_by_weekday([(w[0], w[1], w[2]) for w in r["windows"]]),
        )
        for r in rows
    ]
    if not demo:
        return
    patients = []
    for login in logins:
        if login.role == "patient":
            user = await users.user_by_email(conn, login.email)
            if user is not None and not user["disabled"]:
                patients.append(
                    DemoPatient(login.name, login.email, "+1 555 0100", user_id=user["id"])
                )
    today = now.date()
    taken = await repository.days_with_appointments(
        conn,
        [d.id for d in demo],
        today - timedelta(days=DAYS_BEFORE + 1),
        today + timedelta(days=DAYS_AFTER + 1),
    )
    told = 0
    for visit in plan_week(dentists=demo, patients=patients, now=now, taken_days=taken):
        appointment_id = await repository.insert_visit(conn, visit, new_reference())
        upcoming = visit.status in ACTIVE and visit.on > today
        if upcoming and told < DEMO_MESSAGES:
            await messages.booked(
                conn, settings=settings or Settings(), appointment_id=appointment_id, now=now
            )
            told += 1


def _by_weekday(windows: list[tuple[int, time, time]]) -> dict[int, list[tuple[time, time]]]:
    days: dict[int, list[tuple[time, time]]] = {}
    for day, start, end in windows:
        days.setdefault(day, []).append((start, end))
    return days
