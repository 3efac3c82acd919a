"""Names an admin or a patient typed (a treatment, a chair, the clinic, a closed day's
reason, a patient) are shown as text on every scheduling page, never run as markup."""

from __future__ import annotations

from datetime import time

import httpx

from dentalcare.auth.deps import SESSION_COOKIE
from tests.fixtures.rows import make_appointment
from tests.fixtures.servers import RunningServer
from tests.fixtures.tokens import user_token
from tests.web.support import Clinic, add_chair, add_treatment, next_monday

HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_typed_names_are_text_on_every_scheduling_page(
    clinic: Clinic, server: RunningServer
) -> None:
    monday = next_monday()
    root = add_treatment(clinic.db, f"Root {HOSTILE}", 90, dentists=[clinic.dentist], price=9)
    chair = add_chair(clinic.db, f"Chair {HOSTILE}")
    clinic.db.execute("UPDATE clinic_settings SET name = $1, address = $1", f"Clinic {HOSTILE}")
    clinic.db.execute(
        "INSERT INTO clinic_closures (date, reason) VALUES ($1, $2)", monday, f"Shut {HOSTILE}"
    )
    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=monday,
        at=time(10),
        duration_minutes=90,
        treatment_type_id=root["id"],
        chair_id=chair["id"],
        patient_name=f"Pat {HOSTILE}",
    )
    settings = server.app.state.settings
    who = {
        "anonymous": {},
        "dentist": {SESSION_COOKIE: user_token(settings, clinic.dentist_user)},
        "admin": {SESSION_COOKIE: user_token(settings, clinic.admin)},
    }
    d, t, week = clinic.dentist_id, root["id"], monday.isoformat()
    pages = [
        ("anonymous", "/book"),
        ("anonymous", f"/book/{t}"),
        ("anonymous", f"/dentists/{d}?treatment={t}&week={week}"),
        ("anonymous", f"/dentists/{d}/times?treatment={t}&start={week}"),
        ("dentist", f"/dentist?week={week}"),
        ("admin", "/admin/treatments"),
        ("admin", f"/admin/treatments/{t}/edit"),
        ("admin", "/admin/chairs"),
        ("admin", "/admin/clinic"),
    ]
    for role, path in pages:
        with httpx.Client(base_url=server.base_url, cookies=who[role], timeout=10) as http:
            response = http.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        html = response.text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert ESCAPED in html, path
