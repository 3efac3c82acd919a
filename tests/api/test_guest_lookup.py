"""A booking reference and an e-mail address open the booking, not the medical record."""

from __future__ import annotations

import httpx

from dentalcare.appointments.schemas import MEDICAL_FIELDS, AppointmentRead
from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer

MEDICAL_RECORD = {
    "patient_medical_conditions": "type 1 diabetes",
    "symptoms": "swelling on the lower left",
    "medical_history": "heart valve replacement 2019",
    "medications": "warfarin 5 mg",
    "allergies": "penicillin",
}


def test_the_medical_fields_are_the_contracts_five() -> None:
    assert set(MEDICAL_FIELDS) == set(MEDICAL_RECORD)
    assert set(MEDICAL_FIELDS) <= set(AppointmentRead.model_fields)


async def test_the_look_up_hides_the_medical_record_the_owners_read_shows(clinic: Clinic) -> None:
    booked = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(at="11:30", chief_complaint="toothache", **MEDICAL_RECORD),
    )
    assert booked.status_code == 201, booked.text
    created = booked.json()
    assert {k: created[k] for k in MEDICAL_RECORD} == MEDICAL_RECORD, "the booker sees it once"

    lookup = await clinic.http.get(
        "/api/appointments/lookup",
        params={"reference": created["booking_reference"], "email": "jane.guest@example.com"},
    )
    assert lookup.status_code == 200, lookup.text
    found = lookup.json()
    assert set(found) == set(created), "every key of the contract is still there"
    assert {k: found[k] for k in MEDICAL_FIELDS} == dict.fromkeys(MEDICAL_FIELDS)
    kept = set(created) - set(MEDICAL_FIELDS) - {"updated_at"}
    assert {k: found[k] for k in kept} == {k: created[k] for k in kept}
    assert found["chief_complaint"] == "toothache"

    staff = await clinic.http.get(
        f"/api/appointments/{created['id']}", headers=clinic.auth("admin")
    )
    assert {k: staff.json()[k] for k in MEDICAL_RECORD} == MEDICAL_RECORD


async def test_a_patients_own_read_keeps_the_medical_record(clinic: Clinic) -> None:
    """The logged-in owner still reads everything; only the guest credential is narrowed."""
    booked = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(at="12:00", **MEDICAL_RECORD),
        headers=clinic.auth("patient_a"),
    )
    assert booked.status_code == 201, booked.text
    own = await clinic.http.get(
        f"/api/appointments/{booked.json()['id']}", headers=clinic.auth("patient_a")
    )
    assert own.status_code == 200
    assert {k: own.json()[k] for k in MEDICAL_RECORD} == MEDICAL_RECORD
    listed = await clinic.http.get("/api/appointments", headers=clinic.auth("patient_a"))
    mine = next(i for i in listed.json()["items"] if i["id"] == booked.json()["id"])
    assert mine["allergies"] == "penicillin"


async def test_the_find_page_takes_the_credential_only_in_a_posted_form(
    clinic: Clinic, live_server: RunningServer
) -> None:
    """No reference in a URL: the find page ignores a query, and a booking this browser
    does not know sends it to the bare find page."""
    reference = clinic.appointments["guest"]["booking_reference"]
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as browser:
        page = await browser.get("/bookings/find", params={"reference": reference})
        assert page.status_code == 200
        assert reference not in page.text
        assert 'method="post" action="/bookings/find"' in page.text
        for path in (f"/bookings/{reference}", f"/bookings/{reference}/calendar.ics"):
            unknown = await browser.get(path)
            assert unknown.status_code == 303
            assert unknown.headers["location"] == "/bookings/find"
