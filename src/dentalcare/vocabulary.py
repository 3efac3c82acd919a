"""The appointment's vocabulary, defined once: statuses and the status machine, booking
sources, urgency, payment.

Everything in Python (schemas, rules, SQL in repositories, web pages and templates, the
chatbot) takes its values from here. It sits beside the domain packages rather than in
`appointments/` because the domains below appointments speak it too (a dentist's removal
cancels their active bookings, new hours are checked against them). The database says
the same in its CHECK constraints, its status-transition trigger (SQLSTATE DCT01) and its
"active" predicates (migration 0001); tests/db/test_vocabulary.py proves the two agree,
so a change here without a migration (or the other way round) fails a test.
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

Status = Literal["pending", "confirmed", "completed", "cancelled", "no_show"]
BookingSource = Literal["manual", "chatbot", "admin", "front_desk"]
Urgency = Literal["routine", "urgent", "emergency"]
PaymentMethod = Literal["cash", "card", "insurance"]
PaymentStatus = Literal["pending", "paid", "refunded"]

# Every value, in the order people read them (filters, pickers).
STATUSES: tuple[Status, ...] = get_args(Status)
BOOKING_SOURCES: tuple[BookingSource, ...] = get_args(BookingSource)
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = get_args(PaymentStatus)

# Clinic staff: who sees every appointment and patient and books for callers (API.md v2,
# roles). `front_desk` arrives with issue 15; the rules already count it as staff.
STAFF_ROLES: frozenset[str] = frozenset({"admin", "front_desk"})


def is_staff(role: str | None) -> bool:
    """Whether a role is clinic staff (admins and the front desk)."""
    return role in STAFF_ROLES


# Active appointments hold their slot (the no-double-booking constraint, busy times);
# terminal ones are over and never change status again.
ACTIVE: frozenset[Status] = frozenset({"pending", "confirmed"})
TERMINAL: frozenset[Status] = frozenset(STATUSES) - ACTIVE
TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        ("pending", "confirmed"),
        ("pending", "cancelled"),
        ("confirmed", "completed"),
        ("confirmed", "cancelled"),
        ("confirmed", "no_show"),
    }
)
# ACTIVE for SQL text: `status IN ({ACTIVE_SQL})`. Literals rather than a bound parameter,
# so that the planner can use the partial indexes whose predicate says the same.
ACTIVE_SQL = ", ".join(f"'{status}'" for status in STATUSES if status in ACTIVE)


def is_status(value: object) -> TypeGuard[Status]:
    """Whether `value` (a form field, a query parameter) is one of the statuses."""
    return value in STATUSES
