"""Load the demo clinic: 5 dentists with weekly schedules and lunch breaks, an admin, 2
patients, and a week of appointments around today (topped up at every start)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from dentalcare.appointments.service import new_reference
from dentalcare.auth import repository as users
from dentalcare.auth.passwords import hash_password
from dentalcare.availability import repository as availability
from dentalcare.db.pool import SYSTEM, Connection, Database
from dentalcare.demo import repository
from dentalcare.demo.week import DAYS_AFTER, DAYS_BEFORE, DemoDentist, DemoPatient, plan_week
from dentalcare.dentists import repository as dentists

DEMO_TIMEZONE = "America/New_York"
ADMIN_PASSWORD = "demo-admin-2026"
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
    logins += [DemoLogin("dentist", _email(n), DENTIST_PASSWORD, n) for n, *_ in DENTISTS]
    logins += [
        DemoLogin("patient", "alice@example.com", PATIENT_PASSWORD, "Alice Brown"),
        DemoLogin("patient", "bob@example.com", PATIENT_PASSWORD, "Bob Wilson"),
    ]
    return logins


async def load_demo(db: Database, *, timezone: str, now: datetime | None = None) -> list[DemoLogin]:
    """Create the demo clinic unless it is already there, give it a week of appointments
    around today, and return its logins (those still active)."""
    logins = demo_logins()
    async with db.unit_of_work(SYSTEM) as uow:
        conn = await uow.connection()
        if await users.user_by_email(conn, logins[0].email) is None:
            await _create_clinic(conn, logins, timezone=timezone)
        await _fill_week(conn, logins, now=now or datetime.now(UTC))
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


async def _fill_week(conn: Connection, logins: list[DemoLogin], *, now: datetime) -> None:
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
    for visit in plan_week(dentists=demo, patients=patients, now=now, taken_days=taken):
        await repository.insert_visit(conn, visit, new_reference())


def _by_weekday(windows: list[tuple[int, time, time]]) -> dict[int, list[tuple[time, time]]]:
    days: dict[int, list[tuple[time, time]]] = {}
    for day, start, end in windows:
        days.setdefault(day, []).append((start, end))
    return days
