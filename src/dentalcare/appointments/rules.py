"""Pure appointment rules: the status machine and who may change what."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dentalcare.errors import Forbidden, InvalidTransition

ACTIVE = frozenset({"pending", "confirmed"})
TERMINAL = frozenset({"completed", "cancelled", "no_show"})
TRANSITIONS = frozenset(
    {
        ("pending", "confirmed"),
        ("pending", "cancelled"),
        ("confirmed", "completed"),
        ("confirmed", "cancelled"),
        ("confirmed", "no_show"),
    }
)

# What each kind of caller may touch in PUT /api/appointments/{id}.
EDITABLE = {
    "patient": frozenset(
        {
            "status",
            "appointment_date",
            "appointment_time",
            "notes",
            "patient_phone",
            "cancellation_reason",
        }
    ),
    "guest": frozenset(
        {
            "status",
            "appointment_date",
            "appointment_time",
            "notes",
            "patient_phone",
            "cancellation_reason",
        }
    ),
    "dentist": frozenset({"status", "notes", "cancellation_reason"}),
    "admin": frozenset(
        {
            "status",
            "appointment_date",
            "appointment_time",
            "notes",
            "cancellation_reason",
            "payment_status",
            "payment_method",
            "patient_phone",
        }
    ),
}
STATUSES_SET_BY = {
    "patient": frozenset({"cancelled"}),
    "guest": frozenset({"cancelled"}),
    "dentist": frozenset({"confirmed", "completed", "no_show", "cancelled"}),
    "admin": frozenset({"confirmed", "completed", "no_show", "cancelled"}),
}


def check_transition(current: str, target: str) -> None:
    """Raise InvalidTransition unless `current` -> `target` is allowed."""
    if (current, target) not in TRANSITIONS:
        raise InvalidTransition(f"An appointment that is {current} cannot become {target}.")


# Outcomes that only make sense once the visit has begun.
AFTER_START = frozenset({"completed", "no_show"})


def check_begun(target: str, *, starts_at: datetime, now: datetime) -> None:
    """Raise InvalidTransition if `target` is an outcome and the visit has not begun."""
    if target in AFTER_START and now < starts_at:
        outcome = "completed" if target == "completed" else "a no-show"
        raise InvalidTransition(
            f"The appointment has not begun yet; it can be marked {outcome} from its start time."
        )


def check_permitted(actor: str, fields: Iterable[str], target_status: str | None) -> None:
    """Raise Forbidden if `actor` may not change `fields` (or set `target_status`)."""
    editable = EDITABLE.get(actor, frozenset())
    refused = sorted(set(fields) - editable)
    if refused:
        raise Forbidden(f"You may not change {', '.join(refused)} of this appointment.")
    if target_status is not None and target_status not in STATUSES_SET_BY.get(actor, ()):
        raise Forbidden(f"You may not mark this appointment {target_status}.")


def check_still_open(current: str, *, what: str) -> None:
    """Raise InvalidTransition when a finished appointment would be moved or changed."""
    if current in TERMINAL:
        raise InvalidTransition(f"This appointment is {current}; it cannot be {what}.")
