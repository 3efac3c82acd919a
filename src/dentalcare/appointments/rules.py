"""Pure appointment rules: the status machine and who may change what."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dentalcare.appointments.schemas import AppointmentUpdate
from dentalcare.errors import Forbidden, InvalidTransition
from dentalcare.vocabulary import STATUSES, TERMINAL, TRANSITIONS, Status

# What each kind of caller may touch in PUT /api/appointments/{id}; an admin, everything
# the body has.
_OWN_BOOKING = frozenset(
    {
        "status",
        "appointment_date",
        "appointment_time",
        "dentist_id",
        "notes",
        "patient_phone",
        "cancellation_reason",
    }
)
EDITABLE = {
    "patient": _OWN_BOOKING,
    "guest": _OWN_BOOKING,
    "dentist": frozenset({"status", "notes", "cancellation_reason"}),
    "admin": frozenset(AppointmentUpdate.model_fields),
    "front_desk": frozenset(AppointmentUpdate.model_fields),
}
_STAFF_MAY_SET: frozenset[Status] = frozenset(STATUSES) - {"pending"}
STATUSES_SET_BY: dict[str, frozenset[Status]] = {
    "patient": frozenset({"cancelled"}),
    "guest": frozenset({"cancelled"}),
    "dentist": _STAFF_MAY_SET,
    "admin": _STAFF_MAY_SET,
    "front_desk": _STAFF_MAY_SET,
}


def check_transition(current: Status, target: Status) -> None:
    """Raise InvalidTransition unless `current` -> `target` is allowed."""
    if (current, target) not in TRANSITIONS:
        raise InvalidTransition(f"An appointment that is {current} cannot become {target}.")


# Outcomes that only make sense once the visit has begun.
AFTER_START: frozenset[Status] = frozenset({"completed", "no_show"})


def check_begun(target: Status, *, starts_at: datetime, now: datetime) -> None:
    """Raise InvalidTransition if `target` is an outcome and the visit has not begun."""
    if target in AFTER_START and now < starts_at:
        outcome = "completed" if target == "completed" else "a no-show"
        raise InvalidTransition(
            f"The appointment has not begun yet; it can be marked {outcome} from its start time."
        )


def check_permitted(actor: str, fields: Iterable[str], target_status: Status | None) -> None:
    """Raise Forbidden if `actor` may not change `fields` (or set `target_status`)."""
    editable = EDITABLE.get(actor, frozenset())
    refused = sorted(set(fields) - editable)
    if refused:
        raise Forbidden(f"You may not change {', '.join(refused)} of this appointment.")
    if target_status is not None and target_status not in STATUSES_SET_BY.get(actor, ()):
        raise Forbidden(f"You may not mark this appointment {target_status}.")


def check_still_open(current: Status, *, what: str) -> None:
    """Raise InvalidTransition when a finished appointment would be moved or changed."""
    if current in TERMINAL:
        raise InvalidTransition(f"This appointment is {current}; it cannot be {what}.")
