"""Pydantic models for appointments, and the renderer generated from `AppointmentRead`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from dentalcare.jsonshape import HhMm, Instant, IsoDate, Money, TextId, renderer
from dentalcare.text import PersonName
from dentalcare.vocabulary import (
    BookingSource,
    PaymentMethod,
    PaymentStatus,
    Status,
    Urgency,
)

ShortText = Field(default=None, max_length=4000)


class AppointmentCreate(BaseModel):
    """Body of POST /api/appointments.

    Unknown fields are ignored: `booking_source`, `status` or `patient_id` in a body are
    never trusted, the server sets them.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    dentist_id: UUID
    appointment_date: date
    appointment_time: time
    patient_name: PersonName
    patient_email: EmailStr = Field(max_length=254)
    patient_phone: str = Field(min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$")
    patient_age: int | None = Field(default=None, ge=0, le=130)
    patient_medical_conditions: str | None = ShortText
    chief_complaint: str | None = Field(default=None, max_length=2000)
    symptoms: str | None = ShortText
    medical_history: str | None = ShortText
    medications: str | None = ShortText
    allergies: str | None = ShortText
    notes: str | None = ShortText
    payment_method: PaymentMethod | None = None
    # v2: what is being done (the clinic's default type when absent) and the hold that
    # kept the slot while the form was filled in.
    treatment_type_id: UUID | None = None
    hold_id: UUID | None = None

    @field_validator("appointment_time")
    @classmethod
    def _whole_minutes(cls, value: time) -> time:
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ValueError("use HH:MM in the dentist's own time zone")
        return value


class AppointmentUpdate(BaseModel):
    """Body of PUT /api/appointments/{id}: every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Status | None = None
    appointment_date: date | None = None
    appointment_time: time | None = None
    # A reschedule may move the visit to another dentist who performs its treatment.
    dentist_id: UUID | None = None
    notes: str | None = ShortText
    cancellation_reason: str | None = Field(default=None, max_length=1000)
    payment_status: PaymentStatus | None = None
    payment_method: PaymentMethod | None = None
    patient_phone: str | None = Field(
        default=None, min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$"
    )

    @field_validator("appointment_time")
    @classmethod
    def _whole_minutes(cls, value: time | None) -> time | None:
        if value is not None and (value.second or value.microsecond or value.tzinfo):
            raise ValueError("use HH:MM in the dentist's own time zone")
        return value


# The one definition of the JSON object: every column of `appointments` plus what the
# repository joins in (JOINED_FIELDS); `appointment_json` below is generated from it.
class AppointmentRead(BaseModel):
    """The `appointment` of API.md."""

    id: TextId
    booking_reference: str
    patient_id: TextId | None
    dentist_id: TextId
    dentist_name: str | None
    patient_name: str
    patient_email: str
    patient_phone: str
    patient_age: int | None
    patient_medical_conditions: str | None
    appointment_date: IsoDate = Field(examples=["2026-11-23"])
    appointment_time: HhMm = Field(examples=["10:00"])
    duration_minutes: int
    starts_at: Instant
    ends_at: Instant
    status: Status
    booking_source: BookingSource
    chief_complaint: str | None
    symptoms: str | None
    urgency: Urgency | None
    medical_history: str | None
    medications: str | None
    allergies: str | None
    notes: str | None
    payment_method: PaymentMethod | None
    payment_status: PaymentStatus
    payment_amount: Money | None
    cancellation_reason: str | None
    created_at: Instant
    updated_at: Instant
    confirmed_at: Instant | None
    cancelled_at: Instant | None
    completed_at: Instant | None
    treatment_type_id: TextId | None
    treatment_name: str | None
    chair_id: TextId | None
    chair_name: str | None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    attendance_confirmed_at: Instant | None
    arrived_at: Instant | None
    hold_id: TextId | None


# Fields of AppointmentRead that are not columns of `appointments` (the repository joins
# them in).
JOINED_FIELDS = frozenset({"dentist_name", "treatment_name", "chair_name"})


class AppointmentList(BaseModel):
    """A page of appointments."""

    items: list[AppointmentRead]
    next_cursor: str | None


# An appointment row (asyncpg record or event-log JSON) as the contract's JSON object.
appointment_json = renderer(AppointmentRead)

# What a booking reference and an e-mail address do not open (API.md v2, guest look-up):
# the patient's medical record stays behind a login.
MEDICAL_FIELDS = (
    "patient_medical_conditions",
    "symptoms",
    "medical_history",
    "medications",
    "allergies",
)
_NO_MEDICAL_RECORD = dict.fromkeys(MEDICAL_FIELDS)


def guest_appointment_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An appointment as a guest look-up shows it: the medical fields are null."""
    return {**appointment_json(row), **_NO_MEDICAL_RECORD}
