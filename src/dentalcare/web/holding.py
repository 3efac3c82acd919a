"""The browser's hold on a slot while the booking form is filled in.

A hold belongs to the caller: a logged-in patient's user, or for a guest the opaque
`hold_token` the service returns once. The page keeps what it needs to show and convert
the hold in a signed, HttpOnly cookie (never a URL), so the booking form works the same
with or without JavaScript; the services check ownership again when it is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from starlette.responses import Response

from dentalcare.web import signing
from dentalcare.web.session import clear_cookie, set_cookie
from dentalcare.web.templating import settings_of

HOLD_COOKIE = "dc_hold"
# The cookie outlives the hold a little, so that an expired hold can still be named.
COOKIE_GRACE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class PageHold:
    """A hold as the page shows it (times on the dentist's clock)."""

    hold_id: str
    token: str | None
    dentist_id: str
    treatment_type_id: str
    date: str
    time: str
    duration_minutes: int
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        """Whether the hold still keeps its slot."""
        return now < self.expires_at

    def is_for(self, dentist_id: str, treatment_type_id: str | None = None) -> bool:
        """Whether the hold is on this dentist (and, when given, this treatment)."""
        return self.dentist_id == dentist_id and treatment_type_id in (
            None,
            self.treatment_type_id,
        )

    @property
    def slot(self) -> str:
        """`YYYY-MM-DDTHH:MM`, the value of the slot buttons."""
        return f"{self.date}T{self.time}"


def current_hold(request: Request) -> PageHold | None:
    """The hold this browser made last (live or lately expired), or None."""
    data = signing.unsign(settings_of(request), "hold", request.cookies.get(HOLD_COOKIE))
    if data is None:
        return None
    try:
        raw = json.loads(data)
        return PageHold(
            hold_id=str(raw["hold_id"]),
            token=str(raw["token"]) if raw.get("token") else None,
            dentist_id=str(raw["dentist_id"]),
            treatment_type_id=str(raw["treatment_type_id"]),
            date=str(raw["date"]),
            time=str(raw["time"]),
            duration_minutes=int(raw["duration_minutes"]),
            expires_at=datetime.fromisoformat(str(raw["expires_at"])),
        )
    except (ValueError, KeyError, TypeError):
        return None


def page_hold(hold: dict[str, Any], *, token: str | None) -> PageHold:
    """A hold as the service returned it (`hold_json`), with the guest's token."""
    expires = hold["expires_at"]
    return PageHold(
        hold_id=str(hold["hold_id"]),
        token=token,
        dentist_id=str(hold["dentist_id"]),
        treatment_type_id=str(hold["treatment_type_id"]),
        date=str(hold["appointment_date"]),
        time=str(hold["appointment_time"])[:5],
        duration_minutes=int(hold["duration_minutes"]),
        expires_at=expires if isinstance(expires, datetime) else datetime.fromisoformat(expires),
    )


def keep_hold(request: Request, response: Response, hold: PageHold, *, now: datetime) -> None:
    """Remember the hold in the browser until a little after it expires."""
    data = json.dumps(
        {
            "hold_id": hold.hold_id,
            "token": hold.token,
            "dentist_id": hold.dentist_id,
            "treatment_type_id": hold.treatment_type_id,
            "date": hold.date,
            "time": hold.time,
            "duration_minutes": hold.duration_minutes,
            "expires_at": hold.expires_at.isoformat(),
        }
    ).encode()
    settings = settings_of(request)
    max_age = max(60, int((hold.expires_at - now + COOKIE_GRACE).total_seconds()))
    set_cookie(
        response, settings, HOLD_COOKIE, signing.sign(settings, "hold", data), max_age=max_age
    )


def forget_hold(request: Request, response: Response) -> None:
    """The hold is used or gone: the browser forgets it."""
    if HOLD_COOKIE in request.cookies:
        clear_cookie(response, settings_of(request), HOLD_COOKIE)
